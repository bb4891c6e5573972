import { readFile as readFileCallback } from 'node:fs';
import { osError } from '../os-error.js';

// Not node:fs/promises: it costs ~0.7 ms to load on Node 20, paid by every `onlyone run` at start-up.
const readFile = (path: string, encoding: 'utf8'): Promise<string> =>
  new Promise((resolve, reject) => readFileCallback(path, encoding, (error, text) => (error === null ? resolve(text) : reject(error))));

/** One listening socket bound in the abstract namespace, as /proc/net/unix lists it. */
export interface AbstractListener {
  /** Socket inode, the key to find which processes hold it. */
  readonly inode: number;
  /** The address as the kernel prints it: "@" for every NUL byte, the leading one included. */
  readonly path: string;
}

/** __SO_ACCEPTCON: the socket is listening. Accepted connections show the same name without it. */
const ACCEPTCON = 0x10000;

/**
 * Lists listening abstract sockets whose printed path starts with `@` + `prefix`.
 * @throws OsError when /proc/net/unix cannot be read.
 * @internal
 */
export async function abstractListeners(prefix: string): Promise<AbstractListener[]> {
  const text = await readNetUnix('Cannot list the held locks');
  const wanted = `@${prefix}`;
  const found: AbstractListener[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(wanted);
    if (at === -1) continue;
    // Num RefCount Protocol Flags Type St Inode Path; the path may contain spaces, so split only the head.
    const fields = line.slice(0, at).trim().split(/\s+/u);
    const flags = Number.parseInt(fields[3] ?? '', 16);
    const inode = Number(fields[6]);
    if ((flags & ACCEPTCON) === 0 || !Number.isSafeInteger(inode)) continue;
    found.push({ inode, path: line.slice(at) });
  }
  return found;
}

/**
 * The candidate addresses a printed path may stand for. NUL bytes print as "@", so a name that ends in "@"
 * is ambiguous with padding: the shortest reading comes first, then each one keeping one more "@".
 * @internal
 */
export function addressCandidates(path: string): string[] {
  return [...addressReadings(path)];
}

/**
 * `addressCandidates`, one at a time: `list` stops at the first reading that answers, which is nearly
 * always the first, so it need not build the other readings (one per trailing "@" of padding).
 * @internal
 */
export function* addressReadings(path: string): Generator<string, void, undefined> {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x40) end--;
  const body = path.slice(1, end);
  const trailing = path.length - end;
  const bodyBytes = Buffer.byteLength(body);
  for (let kept = 0; kept <= trailing; kept++) {
    const pad = 107 - bodyBytes - kept;
    if (pad < 0) return;
    yield `\0${body}${'@'.repeat(kept)}${'\0'.repeat(pad)}`;
  }
}

/**
 * True when some socket, listening or not, is bound at the abstract `address`. Connecting cannot tell a
 * free name from one bound by a socket that never listens: both refuse.
 * @throws OsError when /proc/net/unix cannot be read: a name we cannot look up is not free.
 * @internal
 */
export async function isAbstractBound(address: string): Promise<boolean> {
  const printed = `@${address.slice(1).replaceAll('\0', '@')}`;
  const text = await readNetUnix('Cannot tell whether the lock is held');
  return text.split('\n').some((line) => line.endsWith(` ${printed}`));
}

/** /proc/net/unix, or an OsError saying what `doing` could not do and why. */
async function readNetUnix(doing: string): Promise<string> {
  try {
    return await readFile('/proc/net/unix', 'utf8');
  } catch (error) {
    throw osError(`${doing} (reading /proc/net/unix)`, error);
  }
}
