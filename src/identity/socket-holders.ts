import { osError } from '../os-error.js';
import { fsp } from '../proc/lazy-fs.js';
import { pidsWhere, someDescriptor } from '../proc/scan.js';

/** __SO_ACCEPTCON: the socket is listening. Accepted connections show the same name without it. */
const ACCEPTCON = 0x10000;

/**
 * The inode of the listening socket bound at `address` (an abstract address, leading NUL included),
 * read from /proc/net/unix. Undefined when nothing listens there, when /proc/net/unix cannot be read, or
 * when the printed form is ambiguous: the kernel prints every NUL as "@", so two addresses that differ
 * only by "@" versus NUL print alike, and a caller about to signal a process must not guess.
 * @throws OsError when /proc/net/unix cannot be read (out of descriptors, permission): unknown is not "free".
 */
export async function listenerInode(address: string): Promise<number | undefined> {
  const found = await inodeAt(address, true);
  return found === 'ambiguous' ? undefined : found;
}

/**
 * `listenerInode`, but saying 'ambiguous' when several listening sockets print like `address` (see above).
 * @throws OsError as `listenerInode`.
 * @internal
 */
export function listenerInodeOrAmbiguous(address: string): Promise<number | 'ambiguous' | undefined> {
  return inodeAt(address, true);
}

/**
 * The inode of any socket bound at the abstract `address`, listening or not (a name can be held by a
 * socket that was bound and never listened). Undefined as for `listenerInode`.
 * @throws OsError as `listenerInode`.
 * @internal
 */
export async function boundInode(address: string): Promise<number | undefined> {
  const found = await inodeAt(address, false);
  return found === 'ambiguous' ? undefined : found;
}

async function inodeAt(address: string, listening: boolean): Promise<number | 'ambiguous' | undefined> {
  let text: string;
  try {
    text = await fsp().readFile('/proc/net/unix', 'utf8');
  } catch (error) {
    throw osError('Cannot identify the holder of the lock (reading /proc/net/unix)', error);
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
    if (!Number.isSafeInteger(inode)) continue;
    // Accepted connections print the listener's name too; only the listener has __SO_ACCEPTCON.
    if (listening && (flags & ACCEPTCON) === 0) continue;
    if (!listening && (flags & ACCEPTCON) === 0 && fields[5] !== '01') continue;
    if (found !== undefined && found !== inode) return 'ambiguous';
    found = inode;
  }
  return found;
}

/**
 * Every process with a descriptor on the socket `inode`, from /proc/<pid>/fd, in ascending pid order.
 * This costs a few µs per open descriptor on the machine, so it is only for the rare cases a connection
 * cannot answer. Processes whose fds cannot be read (other users', for an unprivileged caller) are not
 * listed.
 * @throws OsError when this process is out of descriptors, so /proc cannot be read.
 */
export function pidsHoldingInode(inode: number): Promise<number[]> {
  const target = `socket:[${inode}]`;
  return pidsWhere((pid) => processHolds(pid, target));
}

/**
 * Whether process `pid` holds a descriptor on socket `inode`: true, false, or undefined when its
 * descriptors cannot be read (another user's process, or it has exited).
 * @internal
 */
export function pidHoldsInode(pid: number, inode: number): Promise<boolean | undefined> {
  return processHolds(pid, `socket:[${inode}]`);
}

function processHolds(pid: number, target: string): Promise<boolean | undefined> {
  return someDescriptor(pid, async (fd) => (await fsp().readlink(`/proc/${pid}/fd/${fd}`)) === target);
}

/**
 * Every socket inode held by a process on the machine, with the pids holding it (ascending): one walk of
 * /proc/PID/fd for every PID, for a `list` that must find the holders of many sockets at once instead of one walk per socket.
 * Processes whose descriptors cannot be read are left out, as in `pidsHoldingInode`.
 * @throws OsError when this process is out of descriptors.
 * @internal
 */
export async function socketHoldersByInode(): Promise<Map<number, number[]>> {
  const holders = new Map<number, number[]>();
  await pidsWhere(async (pid) => {
    await someDescriptor(pid, async (fd) => {
      const link = await fsp().readlink(`/proc/${pid}/fd/${fd}`);
      if (!link.startsWith('socket:[')) return false;
      const inode = Number(link.slice(8, -1));
      const pids = holders.get(inode);
      if (pids === undefined) holders.set(inode, [pid]);
      else if (!pids.includes(pid)) pids.push(pid);
      return false;
    });
    return false;
  });
  for (const pids of holders.values()) pids.sort((a, b) => a - b);
  return holders;
}
