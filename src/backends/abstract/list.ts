import { scopeSegment } from '../../address.js';
import { holderFromHello } from '../../holder/hello.js';
import type { Holder } from '../../holder/types.js';
import { probeHolders } from '../../identity/batch-probe.js';
import { confirmHolder, identityCache, type IdentityCache } from '../../identity/holder-identity.js';
import { closePidfd, loadLibc, type PeerCredentials } from '../../identity/peercred.js';
import type { NormalizedOptions } from '../../options.js';
import { abstractListeners, addressReadings, type AbstractListener } from '../../proc/net-unix.js';
import { KIND, ORPHAN_HELLO_MS, binderGone, readHolder, silentHolder } from './holder.js';
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
  const libc = await loadLibc();
  if (libc === undefined) await listWithStreams(listeners, options, cache, (holder, address) => holders.push(named(holder, address)));
  else {
    const confirming: Promise<void>[] = [];
    const readings = listeners.map((listener) => addressReadings(listener.path));
    const orphan = (probe: { readonly credentials: PeerCredentials | undefined; readonly pidfd: number | undefined }): boolean => binderGone(probe.credentials, probe.pidfd);
    await probeHolders(libc, readings, options.helloTimeoutMs, RAW_LIST_CONCURRENCY, ORPHAN_HELLO_MS, orphan, (probe) => {
      if (probe.outcome === 'refused') return;
      if (probe.outcome === 'full') {
        holders.push(named(silentHolder(probe.silentReason), probe.address));
        return;
      }
      const claimed = probe.hello === undefined ? undefined : holderFromHello(probe.hello, KIND);
      const evidence = { address: probe.address, backend: KIND, credentials: probe.credentials, pidfd: probe.pidfd, claimed, silentReason: probe.silentReason || 'the holder sent a malformed hello' };
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

/** Without koffi: one Node connection per lock, a few at a time. */
async function listWithStreams(listeners: readonly AbstractListener[], options: NormalizedOptions, cache: IdentityCache, found: (holder: Holder, address: string) => void): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < listeners.length) {
      const listener = listeners[next++];
      if (listener === undefined) break;
      for (const address of addressReadings(listener.path)) {
        const holder = await readHolder(address, options.helloTimeoutMs, cache);
        if (holder === undefined) continue;
        found(holder, address);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, listeners.length) }, worker));
}
