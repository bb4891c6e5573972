import { statSync } from 'node:fs';
import { fsp } from './lazy-fs.js';
import { pidsWhere, someDescriptor } from './scan.js';

/** Linux's `MAJOR:MINOR` of a `st_dev`, in /proc/locks' lowercase hex form (glibc's encoding). */
function deviceField(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/** A file, as `stat` names it. @internal */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/** The device and inode of the file at `path` now, or undefined when there is none. @internal */
export function fileIdOf(path: string): FileId | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats === undefined ? undefined : { dev: stats.dev, ino: stats.ino };
}

/**
 * The pids of the granted `flock()`s on `file` in a /proc/locks-style text ("1: FLOCK  ADVISORY  WRITE 1234
 * fe:00:2146903 0 EOF"; blocked waiters have "->" and are skipped). Each pid is the process that *took*
 * the lock, which may have exited while a process that inherited the descriptor still holds it.
 */
function lockersIn(text: string, file: FileId): number[] {
  const wanted = `${deviceField(file.dev)}:${file.ino}`;
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    const fields = line.replace(/^lock:/u, '').trim().split(/\s+/u);
    if (fields[1] !== 'FLOCK' || fields[5] !== wanted) continue;
    const pid = Number(fields[4]);
    if (Number.isSafeInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/**
 * The pids /proc/locks names as having taken a `flock()` on `file` (see `lockersIn`): empty when nobody
 * holds one, undefined when /proc/locks cannot be read (not Linux). World-readable, so it works for other
 * users' locks too.
 * @internal
 */
export async function flockLockers(file: FileId): Promise<number[] | undefined> {
  try {
    return lockersIn(await fsp().readFile('/proc/locks', 'utf8'), file);
  } catch {
    return undefined;
  }
}

/**
 * The pid /proc/locks names as holding a `flock()` on the file (`dev`, `ino`), if that process still has the
 * file open. /proc/locks records the pid that took the lock, which may have exited (a child inherited the
 * descriptor) or been reused, hence the check. Linux only; undefined elsewhere, on error, or if unknown.
 * @internal
 */
export async function flockOwner(dev: number, ino: number): Promise<number | undefined> {
  for (const pid of (await flockLockers({ dev, ino })) ?? []) {
    if (await hasOpen(pid, dev, ino)) return pid;
  }
  return undefined;
}

async function hasOpen(pid: number, dev: number, ino: number): Promise<boolean> {
  return (await someDescriptor(pid, (fd) => opensFile(pid, fd, { dev, ino }))) === true;
}

async function opensFile(pid: number, fd: string, file: FileId): Promise<boolean> {
  const info = await fsp().stat(`/proc/${pid}/fd/${fd}`);
  return info.dev === file.dev && info.ino === file.ino;
}

/**
 * Whether process `pid` holds a `flock()` on `file` through one of its descriptors: true when the fdinfo of a
 * descriptor open on the file shows a granted flock taken by one of `lockers` (any locker when omitted).
 * Unlike /proc/locks this finds every process sharing the locked open file description, inherited ones
 * included, and never a process that merely has the file open or waits for the lock. Undefined when its
 * descriptors cannot be read (another user's process, or it has exited).
 * @internal
 */
export function pidHoldsFlock(pid: number, file: FileId, lockers?: readonly number[]): Promise<boolean | undefined> {
  return someDescriptor(pid, async (fd) => {
    if (!(await opensFile(pid, fd, file))) return false;
    const fdinfo = await fsp().readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
    const held = lockersIn(fdinfo.split('\n').filter((line) => line.startsWith('lock:')).join('\n'), file);
    return held.some((locker) => lockers === undefined || lockers.includes(locker));
  });
}

/**
 * Every process holding a `flock()` on `file` taken by one of `lockers` (see `pidHoldsFlock`), in ascending
 * pid order. Scans the descriptors of every process on the machine, so it is only for stopping a holder.
 * Processes whose descriptors cannot be read are not listed. Never throws.
 * @internal
 */
export function pidsHoldingFlock(file: FileId, lockers?: readonly number[]): Promise<number[]> {
  return pidsWhere((pid) => pidHoldsFlock(pid, file, lockers));
}
