// etcd's concurrency.Mutex, step for step, so that onlyone and `etcdctl lock` (or any Go client) queue together:
// each contender creates `<dir><lease hex>` with `create_revision == 0`; the key with the lowest create revision
// holds; every other contender watches only the key just ahead of it (no herd, FIFO order).
import { BackendError } from '../../errors.js';
import { EtcdServerError, isTransient, type EtcdGateway, type Json } from './gateway.js';
import { contendersOf, type Contender } from './holders.js';
import { b64, contenderKey, isContenderKey, prefixEnd } from './keys.js';
import type { EtcdLease } from './lease.js';

/** One of our keys in one lock's queue. @internal */
export interface Queued {
  readonly name: string;
  readonly dir: string;
  readonly key: string;
  readonly slot: number | undefined;
  /** Our create revision: the fencing token once we hold it. */
  readonly revision: string;
}

/** After a failed request while waiting, the next try comes after this (the lease deadline ends the wait). */
const RETRY_MS = 250;

/** What one lock of `wanted` asks for. @internal */
export interface Wanted {
  readonly name: string;
  readonly dir: string;
  readonly slot: number | undefined;
  readonly value: string;
}

/**
 * Puts one key per lock in `wanted` (one for a plain lock, one per slot), all on `lease`, in one txn that also
 * reads each lock's contenders: as in Go's Mutex, the txn sees its own puts, so one round trip says who holds.
 * @throws BackendError, EtcdServerError.
 * @internal
 */
export async function enqueue(gateway: EtcdGateway, lease: EtcdLease, wanted: readonly Wanted[], signal: AbortSignal | undefined): Promise<Array<{ queued: Queued; contenders: Contender[] }>> {
  const keys = wanted.map(({ dir }) => contenderKey(dir, lease.id));
  const ranges = wanted.map(({ dir }) => ({ request_range: { key: b64(dir), range_end: prefixEnd(dir), sort_order: 'ASCEND', sort_target: 'CREATE' } }));
  const answer = await gateway.call('kv/txn', {
    compare: keys.map((key) => ({ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' })),
    success: [...wanted.map(({ value }, index) => ({ request_put: { key: b64(keys[index] ?? ''), value: b64(value), lease: lease.id } })), ...ranges],
    failure: [...keys.map((key) => ({ request_range: { key: b64(key) } })), ...ranges],
  }, signal);
  // A txn that failed has no `succeeded` field. It fails only when a reply was lost and the txn retried on another member.
  const revision = answer['succeeded'] === true ? revisionOf(answer) : undefined;
  const responses = Array.isArray(answer['responses']) ? (answer['responses'] as Json[]) : [];
  const rangeOf = (index: number): Json => (responses[index]?.['response_range'] as Json | undefined) ?? {};
  return wanted.map(({ name, dir, slot }, index) => {
    const key = keys[index] ?? '';
    const own = revision ?? contendersOf(rangeOf(index))[0]?.createRevision;
    if (own === undefined) throw new BackendError(`etcd did not create the key ${key}`);
    const all = contendersOf(rangeOf(wanted.length + index)).filter((c) => isContenderKey(c.key, dir)).sort((a, b) => compare(a.createRevision, b.createRevision));
    return { queued: { name, dir, key, slot, revision: own }, contenders: all };
  });
}

/** Every contender of one lock, oldest first, and the revision the range was read at. @internal */
export async function contenders(gateway: EtcdGateway, dir: string, signal?: AbortSignal): Promise<{ contenders: Contender[]; revision: string }> {
  const answer = await gateway.call('kv/range', { key: b64(dir), range_end: prefixEnd(dir), sort_order: 'ASCEND', sort_target: 'CREATE' }, signal);
  // Only direct children count: `a/b/<hex>` queues for lock `a/b`, not for `a`.
  const all = contendersOf(answer).filter((c) => isContenderKey(c.key, dir));
  return { contenders: all.sort((a, b) => compare(a.createRevision, b.createRevision)), revision: revisionOf(answer) };
}

/**
 * Waits until `queued` holds its lock: while a key created before ours exists, watch the newest such key until it
 * is deleted. Ends with LockLostError when our own key goes (our lease expired or was revoked), with `signal`'s
 * reason when it aborts.
 * @internal
 */
export async function waitTurn(gateway: EtcdGateway, queued: Queued, lease: EtcdLease, signal: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const any = AbortSignal.any([signal, lease.lost, stop.signal]);
  const own = watchOwnKey(gateway, queued, lease, any, 'while it waited');
  try {
    for (;;) {
      any.throwIfAborted();
      let view;
      try {
        view = await contenders(gateway, queued.dir, any);
      } catch (error) {
        if (!isTransient(error) || any.aborted) throw error;
        await pause(any);
        continue;
      }
      if (!view.contenders.some((c) => c.key === queued.key)) {
        lease.lose(`its key ${queued.key} was deleted while it waited (its lease was revoked or expired)`);
        throw lease.lost.reason;
      }
      const ahead = view.contenders.filter((c) => compare(c.createRevision, queued.revision) < 0);
      const predecessor = ahead.at(-1);
      if (predecessor === undefined) return;
      await untilDeleted(gateway, predecessor.key, String(BigInt(view.revision) + 1n), any);
    }
  } catch (error) {
    throw lease.lost.aborted ? lease.lost.reason : error;
  } finally {
    stop.abort();
    await own;
  }
}

/**
 * Watches our own key until `signal` aborts: its deletion means our lease is gone (revoked, expired) or someone
 * deleted the key, and the next contender may already hold the lock: `lease.lose()` at once. While waiting, it ends
 * the wait; while holding (`held`), it ends the lock without waiting for the next keepalive, and its connection does
 * not keep the process alive.
 * @internal
 */
export async function watchOwnKey(gateway: EtcdGateway, queued: Queued, lease: EtcdLease, signal: AbortSignal, when: string, held = false): Promise<void> {
  let from = String(BigInt(queued.revision) + 1n);
  while (!signal.aborted) {
    const ended = await untilDeleted(gateway, queued.key, from, signal, held).then(() => true, () => false);
    if (signal.aborted) return;
    // A DELETE event, or a watch that ended: look again before deciding.
    const view = ended ? await gateway.call('kv/range', { key: b64(queued.key) }, signal).catch(() => undefined) : undefined;
    if (signal.aborted) return;
    if (view === undefined) {
      await pause(signal).catch(() => {});
      continue;
    }
    if (contendersOf(view).length === 0) {
      lease.lose(`its key ${queued.key} was deleted ${when} (its lease was revoked or expired, or the key was deleted)`);
      return;
    }
    from = String(BigInt(revisionOf(view)) + 1n);
  }
}

/**
 * Resolves when `key` is deleted at or after `fromRevision`, or when the watch ends for any other reason (the
 * caller looks again: a compacted start revision, a member that lost its leader, a closed connection).
 */
async function untilDeleted(gateway: EtcdGateway, key: string, fromRevision: string, signal: AbortSignal, unref = false): Promise<void> {
  const watch = new AbortController();
  const onAbort = (): void => watch.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const messages = await gateway.stream('watch', { create_request: { key: b64(key), start_revision: fromRevision } }, watch.signal, unref);
    for await (const message of messages) {
      if (message['canceled'] === true) break;
      const events = Array.isArray(message['events']) ? (message['events'] as Json[]) : [];
      // PUT events have no `type` field: only DELETE is named.
      if (events.some((event) => event['type'] === 'DELETE')) return;
    }
    await pause(signal, 50);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    // etcd refused the watch for good (permission denied…): give up. Anything else (a dropped connection, a member
    // shutting down) ends this watch only.
    if (error instanceof EtcdServerError && !error.transient) throw error;
    await pause(signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
    watch.abort();
  }
}

function revisionOf(answer: Json): string {
  const revision = (answer['header'] as Json | undefined)?.['revision'];
  return typeof revision === 'string' ? revision : '0';
}

function compare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function pause(signal: AbortSignal, ms = RETRY_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
