import { chmodSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { checkText, type Scope } from '../../address.js';
import { InvalidLockNameError, InvalidOptionError } from '../../errors.js';

/** The two files behind one lockfile lock. @internal */
export interface LockfilePaths {
  readonly dir: string;
  /** `NAME.lock`: flock()ed, never unlinked. */
  readonly lock: string;
  /** `NAME.sock`: the holder's socket, unlinked and re-bound only under the flock. */
  readonly sock: string;
}

export const LOCK_SUFFIX = '.lock';
export const SOCK_SUFFIX = '.sock';
/** `sun_path` is 108 bytes on Linux and 104 on macOS and the BSDs; one byte goes to the terminating NUL. */
const SUN_PATH = process.platform === 'linux' ? 108 : 104;
/** Longest file name most file systems accept. */
const NAME_MAX = 255;
// Bytes kept as they are in file names; every other byte becomes %XX, so "/" and ".." can never appear.
const PLAIN = /^[A-Za-z0-9_.-]$/u;

/**
 * Escapes a lock name into a file name: UTF-8 bytes outside `[A-Za-z0-9_.-]` become `%XX`, and so does a
 * leading dot (no hidden files, no `.` or `..`). Reversible with `unescapeName`.
 * @internal
 */
export function escapeName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += PLAIN.test(char) && !(out === '' && char === '.') ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The lock name a file name stands for, or undefined when it is not one `escapeName` produces. @internal */
export function unescapeName(base: string): string | undefined {
  if (!/^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+$/u.test(base)) return undefined;
  const bytes = Buffer.from(base.replace(/%([0-9A-F]{2})/gu, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))), 'latin1');
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return escapeName(name) === base ? name : undefined;
}

/**
 * Where user-scope lock files go, in order of preference: the first that is a directory. `/run/lock` is the
 * conventional place for lock files (FHS; `/var/lock` links to it): one tmpfs for every user, cleared at
 * boot and never aged by systemd-tmpfiles, unlike `/tmp` (cleaned after days, private under systemd's
 * PrivateTmp) or `$XDG_RUNTIME_DIR` (removed at logout, unset under cron and `sudo -u`).
 */
const LOCK_BASES = ['/run/lock', '/var/lock'];

/**
 * The directory used when the `dir` option is not given. It depends only on the uid and on which of
 * `/run/lock` and `/var/lock` exist, never on the environment, so a user's cron job, systemd unit, login
 * shell, ssh session and `sudo -u` command all meet in the same place.
 * @internal
 */
export function defaultDir(scope: Scope): string {
  if (scope === 'system') return process.platform === 'linux' ? '/run/onlyone' : '/var/run/onlyone';
  const uid = process.geteuid?.() ?? 0;
  const base = LOCK_BASES.find(isDirectory);
  // Not os.tmpdir(): it follows $TMPDIR, and on macOS it is a long per-user path that would leave little room in sun_path.
  return base === undefined ? `/tmp/onlyone-${uid}` : path.join(base, `onlyone-${uid}`);
}

function isDirectory(candidate: string): boolean {
  try {
    return statSync(candidate).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The lock and socket paths of `name` in `dir`.
 * @throws InvalidLockNameError for a malformed name, or one whose socket path would not fit in `sun_path`.
 * @throws InvalidOptionError when `dir` is so long that no name fits.
 * @internal
 */
export function lockfilePaths(name: string, dir: string): LockfilePaths {
  checkText('lock name', name);
  const room = SUN_PATH - 1 - Buffer.byteLength(`${dir}/${SOCK_SUFFIX}`);
  if (room < 1) {
    throw new InvalidOptionError(
      `The \`dir\` option ${JSON.stringify(dir)} is too long: a socket path in it must fit in ${SUN_PATH - 1} bytes (sun_path), which leaves no room for a lock name`,
    );
  }
  const base = escapeName(name);
  if (base.length > room || base.length + LOCK_SUFFIX.length > NAME_MAX) {
    throw new InvalidLockNameError(
      `The lock name ${JSON.stringify(name)} is too long for the lockfile backend in ${dir}: escaped it takes ${base.length} bytes, and the socket path leaves room for ${Math.min(room, NAME_MAX - LOCK_SUFFIX.length)}`,
    );
  }
  return { dir, lock: path.join(dir, base + LOCK_SUFFIX), sock: path.join(dir, base + SOCK_SUFFIX) };
}

/**
 * Creates `dir` if needed (0700 for user scope; 1777 for system scope, so every user can take system locks
 * while nobody can delete another user's files), then refuses it if someone else could plant or swap files
 * in it: it must be owned by this user or root, and not be world-writable without the sticky bit.
 * @throws InvalidOptionError naming the directory and the problem.
 * @internal
 */
export function prepareDir(dir: string, scope: Scope): void {
  const mode = scope === 'system' ? 0o1777 : 0o700;
  // Synchronous on purpose: a few local metadata calls cost microseconds, a thread-pool round trip each costs more.
  try {
    // Only the last component: a typo such as /nonexistent/deep/dir must not become a whole new tree.
    mkdirSync(dir, { mode });
    // mkdir's mode is masked by the umask; the sticky bit needs chmod anyway.
    chmodSync(dir, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InvalidOptionError(`The lock directory ${dir} cannot be created: its parent ${path.dirname(path.resolve(dir))} does not exist (onlyone creates only the last component); create the parent or pass another \`dir\``, { cause: error });
    }
    if (code !== 'EEXIST') {
      throw new InvalidOptionError(`The lock directory ${dir} cannot be created (${code ?? String(error)}); create it or pass another \`dir\``, { cause: error });
    }
  }
  let info: Stats;
  try {
    info = statSync(dir);
  } catch (error) {
    throw new InvalidOptionError(`The lock directory ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  if (!info.isDirectory()) throw new InvalidOptionError(`The lock directory ${dir} is not a directory`);
  const uid = process.geteuid?.() ?? 0;
  // A symlink planted by another user (say /tmp/onlyone-<uid> -> their choice) is refused like their directory.
  const link = lstatSync(dir);
  if (link.isSymbolicLink() && link.uid !== uid && link.uid !== 0) {
    throw new InvalidOptionError(`The lock directory ${dir} is a symlink owned by uid ${link.uid}, not by this user (${uid}) or root`);
  }
  if (info.uid !== uid && info.uid !== 0) {
    throw new InvalidOptionError(`The lock directory ${dir} is owned by uid ${info.uid}, not by this user (${uid}) or root: another user could swap its lock files`);
  }
  if ((info.mode & 0o002) !== 0 && (info.mode & 0o1000) === 0) {
    throw new InvalidOptionError(`The lock directory ${dir} is world-writable without the sticky bit (mode ${(info.mode & 0o7777).toString(8)}): any user could delete or replace its lock files`);
  }
}
