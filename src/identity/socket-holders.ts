import { readFile, readdir, readlink } from 'node:fs/promises';
import { abstractListeners } from '../proc/net-unix.js';

/**
 * The inode of the listening socket bound at the abstract `address` ("\0" + name, as given to listen()),
 * from /proc/net/unix. Undefined when nothing listens there.
 * @throws the fs error if /proc/net/unix cannot be read.
 */
export async function listenerInode(address: string): Promise<number | undefined> {
  // /proc/net/unix prints every NUL of the address as "@", padding included.
  const printed = address.replaceAll('\0', '@');
  const trimmed = printed.replace(/@+$/u, '');
  const candidates = await abstractListeners(trimmed.slice(1));
  return (candidates.find((l) => l.path === printed) ?? candidates.find((l) => l.path.replace(/@+$/u, '') === trimmed))?.inode;
}

/**
 * The inode of any socket bound at the abstract `address`, listening or not (a name can be held by a
 * socket that was bound and never listened). Undefined when the name is free or /proc is unreadable.
 * @internal
 */
export async function boundInode(address: string): Promise<number | undefined> {
  const printed = address.replaceAll('\0', '@');
  const text = await readFile('/proc/net/unix', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.endsWith(` ${printed}`)) continue;
    const inode = Number(line.trim().split(/\s+/u)[6]);
    if (Number.isSafeInteger(inode)) return inode;
  }
  return undefined;
}

/**
 * Which processes hold a descriptor on socket `inode`, found by reading every /proc/PID/fd. This costs a
 * few µs per open descriptor on the machine, so it is only for the rare cases a connection cannot answer.
 * Processes whose descriptors this user may not read (other users', unless root) are silently skipped.
 * Never throws: an unreadable /proc yields an empty list.
 */
export async function pidsHoldingInode(inode: number): Promise<number[]> {
  const target = `socket:[${inode}]`;
  const found: number[] = [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    if ((await processHoldsInode(pid, target)) === true) found.push(pid);
  }
  return found;
}

/**
 * Whether process `pid` holds a descriptor on socket `inode`: true, false, or undefined when its
 * descriptors cannot be read (another user's process, or it has exited).
 * @internal
 */
export function pidHoldsInode(pid: number, inode: number): Promise<boolean | undefined> {
  return processHoldsInode(pid, `socket:[${inode}]`);
}

async function processHoldsInode(pid: number, target: string): Promise<boolean | undefined> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.includes(target);
}
