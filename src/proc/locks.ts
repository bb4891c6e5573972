import { fsp } from './lazy-fs.js';

/** Linux's `MAJOR:MINOR` of a `st_dev`, in /proc/locks' lowercase hex form (glibc's encoding). */
function deviceField(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/**
 * The pid /proc/locks names as holding a `flock()` on the file (`dev`, `ino`), if that process still has the
 * file open. /proc/locks records the pid that took the lock, which may have exited (a child inherited the
 * descriptor) or been reused, hence the check. Linux only; undefined elsewhere, on error, or if unknown.
 * @internal
 */
export async function flockOwner(dev: number, ino: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await fsp().readFile('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  const file = `${deviceField(dev)}:${ino}`;
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146903 0 EOF"; blocked waiters have "->" and are skipped.
    const fields = line.trim().split(/\s+/u);
    if (fields[1] !== 'FLOCK' || fields[5] !== file) continue;
    const pid = Number(fields[4]);
    if (Number.isSafeInteger(pid) && pid > 0 && (await hasOpen(pid, dev, ino))) return pid;
  }
  return undefined;
}

async function hasOpen(pid: number, dev: number, ino: number): Promise<boolean> {
  let fds: string[];
  try {
    fds = await fsp().readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    const info = await fsp().stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
    if (info !== undefined && info.dev === dev && info.ino === ino) return true;
  }
  return false;
}
