import { osError } from '../os-error.js';
import { fsp } from './lazy-fs.js';

/** Errors that say this process could not look, not that the process looked at is gone or foreign. */
const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'ENOMEM']);

/**
 * Every process on the machine for which `matches` resolves true, in ascending pid order. It scans all of /proc, so
 * it is only for rare paths (stopping a holder, a holder that cannot answer). Without /proc, it is [].
 * @throws OsError when this process is out of descriptors: an empty answer would be false.
 * @internal
 */
export async function pidsWhere(matches: (pid: number) => Promise<boolean | undefined>): Promise<number[]> {
  let entries: string[];
  try {
    entries = await fsp().readdir('/proc');
  } catch (error) {
    if (OUT_OF_RESOURCES.has((error as NodeJS.ErrnoException).code ?? '')) throw osError('Cannot scan /proc for the holders of the lock', error);
    return [];
  }
  const pids = entries.filter((entry) => /^[1-9][0-9]*$/u.test(entry)).map(Number);
  const found: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      if ((await matches(pid)) === true) found.push(pid);
    }),
  );
  return found.sort((a, b) => a - b);
}

/**
 * Whether any descriptor of process `pid` passes `matches` (given the descriptor's number as a string): true or
 * false, or undefined when its descriptors cannot be read (another user's process, or it has exited). A descriptor
 * that closes while we look simply fails `matches`.
 * @throws OsError when this process is out of descriptors.
 * @internal
 */
export async function someDescriptor(pid: number, matches: (fd: string) => Promise<boolean>): Promise<boolean | undefined> {
  let fds: string[];
  try {
    fds = await fsp().readdir(`/proc/${pid}/fd`);
  } catch (error) {
    if (OUT_OF_RESOURCES.has((error as NodeJS.ErrnoException).code ?? '')) throw osError(`Cannot read /proc/${pid}/fd`, error);
    return undefined;
  }
  for (const fd of fds) {
    if (await matches(fd).catch(() => false)) return true;
  }
  return false;
}
