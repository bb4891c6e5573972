import { closeSync, constants, fchmodSync, fstatSync, openSync, statSync } from 'node:fs';
import { fsp } from '../proc/lazy-fs.js';
import { hostname } from 'node:os';
import type { Scope } from '../address.js';
import { InvalidOptionError, LockBusyError, OnlyoneError } from '../errors.js';
import type { Holder } from '../holder/types.js';
import type { NormalizedOptions } from '../options.js';
import { flockOwner } from '../proc/locks.js';
import { processInfo } from '../proc/process-info.js';
import { tryFlock } from './flock.js';
import { hold } from './lockfile-lock.js';
import { LOCK_SUFFIX, defaultDir, lockfilePaths, prepareDir, unescapeName, type LockfilePaths } from './lockfile-paths.js';
import { readSocketHolder, silentHolder } from './socket-holder.js';
import { slotName } from './socket-slots.js';
import { waitForAnyRelease, waitForRelease, type WaitState } from './socket-wait.js';
import type { AcquireRequest, Backend, BackendLock } from './types.js';

const KIND = 'lockfile';
/** Locks read at once by `list`; each costs a connection and a hello. */
const LIST_CONCURRENCY = 64;

/** The lockfile directory the options name, or the scope's default. @internal */
export function dirOf(options: NormalizedOptions): string {
  return options.dir ?? defaultDir(options.scope);
}

/**
 * Opens the lock file, creating it if it does not exist. Read-only is enough for flock(2), so users of a
 * system-scope directory can lock files created by others. An existing file is opened without O_CREAT,
 * because `fs.protected_regular` refuses O_CREAT on another user's file in a sticky directory.
 * O_NOFOLLOW refuses a symlink planted in its place; libuv opens every file close-on-exec, so spawned
 * children never inherit the lock by accident.
 */
function openLockFile(lockPath: string, scope: Scope): number {
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
 */
async function takeFlock(paths: LockfilePaths, scope: Scope): Promise<number | undefined> {
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
 * Who holds `name`: the socket's hello; else, when only the flock says it is held (flock(1), or a child that
 * inherited the lock), the process /proc/locks names, if it still has the file open; else a silent holder.
 */
async function holderOf(name: string, paths: LockfilePaths, options: NormalizedOptions, knownHeld: boolean): Promise<Holder | undefined> {
  const holder = await readSocketHolder(paths.sock, options.helloTimeoutMs, KIND);
  if (holder !== undefined) return holder.pid === 0 ? { ...holder, name, scope: options.scope } : holder;
  if (!knownHeld && !(await flockHeld(paths.lock))) return undefined;
  const file = statSync(paths.lock, { throwIfNoEntry: false });
  const owner = file === undefined ? undefined : await flockOwner(file.dev, file.ino);
  const info = owner === undefined ? undefined : await processInfo(owner);
  const silent = silentHolder('the lock file is flock()ed by a process that serves no socket (flock(1), or a child that inherited the lock)', KIND, name, options.scope);
  if (info === undefined) return silent;
  return {
    ...silent,
    pid: info.pid,
    uid: info.uid,
    hostname: hostname(),
    argv: info.argv,
    cwd: info.cwd,
    ...(info.startTime === undefined ? {} : { startTime: info.startTime }),
    unverifiedReason: 'the holder serves no socket; its pid is the flock owner /proc/locks names, and it has the lock file open',
  };
}

/** Probes with a shared non-blocking flock, released at once, so a status never takes the lock itself. */
async function flockHeld(lockPath: string): Promise<boolean> {
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

/**
 * The portable backend (seed 002): `flock()` on `NAME.lock`, which is never unlinked, guards `NAME.sock`,
 * which the holder unlinks and re-binds only while it holds the flock. Works wherever flock(2) does, across
 * network namespaces that share the directory, and interoperates with `flock(1)` on the same lock file.
 */
export const lockfileBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: false, messaging: true, slots: true, fencing: false },

  async acquire(request: AcquireRequest): Promise<BackendLock> {
    const { name, options, signal } = request;
    if (options.replace !== undefined) throw new InvalidOptionError("The `replace` option is not supported by the lockfile backend yet; use the abstract backend");
    const dir = dirOf(options);
    // One lock, or slots NAME#0 ... NAME#<slots-1>; every path is checked before anything is locked.
    const slots = options.slots === undefined ? [undefined] : Array.from({ length: options.slots }, (_, index) => index);
    const all = slots.map((slot) => ({ slot, paths: lockfilePaths(slot === undefined ? name : slotName(name, slot), dir) }));
    prepareDir(dir, options.scope);
    const state: WaitState = { refusals: 0 };
    for (;;) {
      for (const { slot, paths } of all) {
        const fd = await takeFlock(paths, options.scope);
        const lock = fd === undefined ? undefined : await hold(fd, paths, name, options, slot);
        if (lock !== undefined) return lock;
      }
      const first = all[0];
      if (!options.wait || first === undefined) {
        const holder = request.describeHolder && first !== undefined ? await holderOf(first.slot === undefined ? name : slotName(name, 0), first.paths, options, true) : undefined;
        throw new LockBusyError(name, holder, options.slots === undefined ? undefined : { cause: new Error(`all ${options.slots} slots are held`) });
      }
      // Connects to the holders and wakes when one closes; with no socket to connect to (a flock(1) holder,
      // or a holder between flock and bind) it backs off up to pollIntervalMs instead of spinning.
      if (all.length === 1) await waitForRelease(first.paths.sock, options.pollIntervalMs, signal, state);
      else await waitForAnyRelease(all.map(({ paths }) => paths.sock), options.pollIntervalMs, signal, state);
    }
  },

  status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    return holderOf(name, lockfilePaths(name, dirOf(options)), options, false);
  },

  async list(options: NormalizedOptions): Promise<Holder[]> {
    const dir = dirOf(options);
    const entries = await fsp().readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw new OnlyoneError('ERR_BACKEND', `Cannot list the lock directory ${dir}: ${error.message}`, { cause: error });
    });
    const names = entries.flatMap((entry) => (entry.endsWith(LOCK_SUFFIX) ? [unescapeName(entry.slice(0, -LOCK_SUFFIX.length))] : [])).filter((n): n is string => n !== undefined);
    const holders: Holder[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let name = names[next++]; name !== undefined; name = names[next++]) {
        const holder = await holderOf(name, lockfilePaths(name, dir), options, false).catch(() => undefined);
        if (holder !== undefined) holders.push(holder);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, names.length) }, worker));
    return holders.sort((a, b) => a.name.localeCompare(b.name));
  },
};
