import { closeSync, constants, fchmodSync, fstatSync, openSync, statSync } from 'node:fs';
import type { Scope } from '../../address.js';
import { OnlyoneError } from '../../errors.js';
import { tryFlock } from './flock.js';
import type { LockfilePaths } from './paths.js';

/**
 * Opens the lock file, creating it if it does not exist. Read-only is enough for flock(2), so users of a
 * system-scope directory can lock files created by others. An existing file is opened without O_CREAT,
 * because `fs.protected_regular` refuses O_CREAT on another user's file in a sticky directory.
 * O_NOFOLLOW refuses a symlink planted in its place; libuv opens every file close-on-exec, so spawned
 * children never inherit the lock by accident.
 * @throws OnlyoneError (`ERR_BACKEND`) naming the file when it cannot be opened.
 * @internal
 */
export function openLockFile(lockPath: string, scope: Scope): number {
  const mode = scope === 'system' ? 0o644 : 0o600;
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW;
  for (;;) {
    try {
      return openSync(lockPath, flags);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw cannotOpen(lockPath, error);
    }
    let fd: number;
    try {
      fd = openSync(lockPath, flags | constants.O_CREAT | constants.O_EXCL, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw cannotOpen(lockPath, error);
    }
    try {
      // The umask may have narrowed the mode; other users must be able to open a system lock file.
      fchmodSync(fd, mode);
    } catch {
      // flock still works on it; only other users' waiting would suffer.
    }
    return fd;
  }
}

function cannotOpen(lockPath: string, error: unknown): OnlyoneError {
  return new OnlyoneError('ERR_BACKEND', `Cannot open lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
}

/**
 * Takes the flock on `NAME.lock` without blocking. Resolves with the locked descriptor, or undefined when
 * another process holds it. Retries if the file was deleted and re-created while we locked it, since a
 * lock on the orphaned inode would exclude nobody.
 * @internal
 */
export async function takeFlock(paths: LockfilePaths, scope: Scope): Promise<number | undefined> {
  for (;;) {
    const fd = openLockFile(paths.lock, scope);
    try {
      if (!(await tryFlock(fd))) {
        closeSync(fd);
        return undefined;
      }
      const held = fstatSync(fd);
      const current = statSync(paths.lock, { throwIfNoEntry: false });
      if (current !== undefined && current.ino === held.ino && current.dev === held.dev) return fd;
      closeSync(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }
}

/**
 * Whether someone holds a flock on `lockPath`. Probes with a shared non-blocking flock, released at once, so a
 * status never takes the lock itself.
 * @internal
 */
export async function flockHeld(lockPath: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(lockPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    return !(await tryFlock(fd, true));
  } finally {
    closeSync(fd);
  }
}
