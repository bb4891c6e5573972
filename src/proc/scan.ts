import { fsp } from './lazy-fs.js';

/**
 * Every process on the machine for which `matches` resolves true, in ascending pid order. It scans all of /proc, so
 * it is only for rare paths (stopping a holder, a holder that cannot answer). Never throws: without /proc, it is [].
 * @internal
 */
export async function pidsWhere(matches: (pid: number) => Promise<boolean | undefined>): Promise<number[]> {
  let entries: string[];
  try {
    entries = await fsp().readdir('/proc');
  } catch {
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
 * @internal
 */
export async function someDescriptor(pid: number, matches: (fd: string) => Promise<boolean>): Promise<boolean | undefined> {
  let fds: string[];
  try {
    fds = await fsp().readdir(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    if (await matches(fd).catch(() => false)) return true;
  }
  return false;
}
