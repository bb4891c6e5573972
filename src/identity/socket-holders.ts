import { readFile, readdir, readlink } from 'node:fs/promises';

/** __SO_ACCEPTCON: the socket is listening. Accepted connections show the same name without it. */
const ACCEPTCON = 0x10000;

/**
 * The inode of the listening socket bound at `address` (an abstract address, leading NUL included),
 * read from /proc/net/unix. Undefined when nothing listens there, or when the printed form is ambiguous:
 * the kernel prints every NUL as "@", so two addresses that differ only by "@" versus NUL print alike,
 * and a caller about to signal a process must not guess.
 * @internal
 */
export async function listenerInode(address: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile('/proc/net/unix', 'utf8');
  } catch {
    return undefined;
  }
  const printed = address.replace(/\0/gu, '@');
  let found: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.endsWith(printed)) continue;
    const head = line.slice(0, line.length - printed.length);
    // Num RefCount Protocol Flags Type St Inode, then one space, then the path.
    if (!head.endsWith(' ')) continue;
    const fields = head.trim().split(/\s+/u);
    if (fields.length !== 7) continue;
    const flags = Number.parseInt(fields[3] ?? '', 16);
    const inode = Number(fields[6]);
    if ((flags & ACCEPTCON) === 0 || !Number.isSafeInteger(inode)) continue;
    if (found !== undefined && found !== inode) return undefined;
    found = inode;
  }
  return found;
}

/**
 * Every process with a descriptor on the socket `inode`, from /proc/<pid>/fd. Processes whose fds cannot
 * be read (other users', for an unprivileged caller) are not listed.
 * @internal
 */
export async function pidsHoldingInode(inode: number): Promise<number[]> {
  const target = `socket:[${inode}]`;
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const pids = entries.filter((entry) => /^[1-9][0-9]*$/u.test(entry)).map(Number);
  const holders: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      if (await processHolds(pid, target)) holders.push(pid);
    }),
  );
  return holders.sort((a, b) => a - b);
}

async function processHolds(pid: number, target: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if ((await readlink(`/proc/${pid}/fd/${fd}`)) === target) return true;
    } catch {
      // The fd closed or the process exited while we looked.
    }
  }
  return false;
}
