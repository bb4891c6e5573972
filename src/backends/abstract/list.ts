import { scopeSegment } from '../../address.js';
import { holderFromHello } from '../../holder/hello.js';
import type { Holder } from '../../holder/types.js';
import { probeHolders } from '../../identity/batch-probe.js';
import { confirmHolder, identityCache, type IdentityCache } from '../../identity/holder-identity.js';
import { closePidfd, loadLibc, type PeerCredentials } from '../../identity/peercred.js';
import type { NormalizedOptions } from '../../options.js';
import { abstractListeners, addressReadings, type AbstractListener } from '../../proc/net-unix.js';
import { HolderConnection } from '../../client/holder-connection.js';
import { identifyConnection } from '../socket/holder.js';
import { KIND, ORPHAN_HELLO_MS, binderGone, silentHolder } from './holder.js';
import { byLock } from '../socket/slots.js';

/** Holders probed at once; each costs a connection and a hello. */
const LIST_CONCURRENCY = 64;
/** With raw sockets a probe is a few syscalls, so more can be in flight (holders' backlogs are 511). */
const RAW_LIST_CONCURRENCY = 256;

/**
 * Every lock held under the options' prefix and scope, with its holder checked against the kernel.
 * Locks are found in /proc/net/unix and each holder is identified by connecting to it and reading its
 * credentials and hello; no descriptor on the machine is scanned unless a holder cannot answer.
 * @internal
 */
export async function listHolders(options: NormalizedOptions): Promise<Holder[]> {
  const scopePrefix = `${options.prefix}${scopeSegment(options.scope, process.getuid?.() ?? 0)}/`;
  const listeners = await abstractListeners(scopePrefix);
  const holders: Holder[] = [];
  const cache = identityCache();
  const named = (holder: Holder, address: string): Holder =>
    holder.name === '' ? { ...holder, name: address.slice(1 + scopePrefix.length).replace(/\0+$/u, ''), scope: options.scope } : holder;
  const readings = candidates(listeners);
  // A printed path that only one listener has names its inode: no need to read /proc/net/unix again per lock.
  const inodeOf = uniqueInodes(listeners);
  const libc = await loadLibc();
  if (libc === undefined) await listWithStreams(readings, options, cache, (holder, address) => holders.push(named(holder, address)));
  else {
    const confirming: Promise<void>[] = [];
    const orphan = (probe: { readonly credentials: PeerCredentials | undefined; readonly pidfd: number | undefined }): boolean => binderGone(probe.credentials, probe.pidfd);
    await probeHolders(libc, readings, options.helloTimeoutMs, RAW_LIST_CONCURRENCY, ORPHAN_HELLO_MS, orphan, (probe) => {
      if (probe.outcome === 'refused') return;
      if (probe.outcome === 'full') {
        holders.push(named(silentHolder(probe.silentReason), probe.address));
        return;
      }
      const claimed = probe.hello === undefined ? undefined : holderFromHello(probe.hello, KIND);
      const inode = inodeOf.get(printedPath(probe.address));
      const evidence = { address: probe.address, backend: KIND, credentials: probe.credentials, pidfd: probe.pidfd, claimed, silentReason: probe.silentReason || 'the holder sent a malformed hello', ...(inode === undefined ? {} : { inode }) };
      confirming.push(
        confirmHolder(evidence, cache)
          .then((holder) => {
            if (holder !== undefined) holders.push(named(holder, probe.address));
          })
          .finally(() => {
            if (probe.pidfd !== undefined) closePidfd(probe.pidfd);
          }),
      );
    });
    await Promise.all(confirming);
  }
  return holders.sort(byLock);
}

/**
 * The addresses to probe for each listening socket, first answer wins. The kernel prints NUL as "@", so `X` and
 * `X@` (both NUL-padded) print alike: when several listeners share a printed path, each reading is probed on its
 * own, so that every one of them is found once, and none twice.
 */
function candidates(listeners: readonly AbstractListener[]): Iterable<string>[] {
  const sharing = new Map<string, number>();
  for (const { path } of listeners) sharing.set(path, (sharing.get(path) ?? 0) + 1);
  const readings: Iterable<string>[] = [];
  for (const [path, count] of sharing) {
    if (count === 1) readings.push(addressReadings(path));
    else for (const address of addressReadings(path)) readings.push([address]);
  }
  return readings;
}

/** The inode of each printed path that exactly one listener has. */
function uniqueInodes(listeners: readonly AbstractListener[]): Map<string, number> {
  const inodes = new Map<string, number>();
  const shared = new Set<string>();
  for (const { path, inode } of listeners) {
    if (inodes.has(path)) shared.add(path);
    inodes.set(path, inode);
  }
  for (const path of shared) inodes.delete(path);
  return inodes;
}

/** How /proc/net/unix prints an abstract address: every NUL, the leading one included, as "@". */
function printedPath(address: string): string {
  return address.replaceAll('\0', '@');
}

/** Without koffi: one Node connection per lock, a few at a time. */
async function listWithStreams(readings: readonly Iterable<string>[], options: NormalizedOptions, cache: IdentityCache, found: (holder: Holder, address: string) => void): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < readings.length) {
      const addresses = readings[next++];
      if (addresses === undefined) break;
      for (const address of addresses) {
        // Only a reading that accepts is a listener: a refused one is another name that prints alike.
        const outcome = await HolderConnection.open(address);
        if (!outcome.ok && outcome.code !== 'EAGAIN') continue;
        const holder = outcome.ok ? (await identifyConnection(outcome.connection, address, KIND, options.helloTimeoutMs, cache)).holder : silentHolder('the holder is not accepting connections (backlog full)');
        if (holder === undefined) continue;
        found(holder, address);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, readings.length) }, worker));
}
