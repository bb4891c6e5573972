// The etcd backend: etcd's own concurrency.Mutex over the v3 gRPC-JSON gateway, with node:http (no dependency).
//   acquire  grant a lease (TTL 10 s), create `<prefix><name>/<lease hex>` if absent, in the txn that reads the
//            queue; the oldest key holds. Waiters watch the key just ahead of theirs, and their own.
//   hold     keepalive every TTL/3; lost TTL − margin after the send time of the last answered keepalive.
//   release  revoke the lease: the key goes with it, and the next waiter's watch fires.
//   fence    the key's create revision. status/list read the keys; each holder's value is its hello (JSON).
//   oncePer  the last run of each lock in `<prefix without its slash>.runs/<name>`, on the member's clock (runs.ts).
// See docs/etcd.md. No messages, no replace: nothing connects to a holder on another machine.
import { checkText } from '../../address.js';
import { BackendError, InvalidOptionError, LockBusyError, OnlyoneError } from '../../errors.js';
import type { Holder } from '../../holder/types.js';
import type { NormalizedOptions } from '../../options.js';
import type { AcquireRequest, Backend, BackendLock } from '../types.js';
import { EtcdGateway, EtcdServerError } from './gateway.js';
import { contendersOf, holderOf, holderValue, type Contender } from './holders.js';
import { b64, lockDir, lockNameOf, prefixEnd } from './keys.js';
import { EtcdLease } from './lease.js';
import { EtcdLock } from './lock.js';
import { contenders, enqueue, waitTurn, type Queued, type Wanted } from './mutex.js';
import { etcdLedger, lastRun } from './runs.js';
import { parseEtcdUrl } from './url.js';

const KIND = 'etcd';
const gateways = new Map<string, EtcdGateway>();

/** One gateway (and so one auth token) per URL and etcdctl environment. */
function gatewayFor(options: NormalizedOptions): EtcdGateway {
  const env = process.env;
  const id = JSON.stringify([options.url, env['ETCDCTL_ENDPOINTS'], env['ETCDCTL_USER'], env['ETCDCTL_PASSWORD']]);
  let gateway = gateways.get(id);
  if (gateway === undefined) {
    gateway = new EtcdGateway(parseEtcdUrl(options.url));
    gateways.set(id, gateway);
  }
  return gateway;
}

/** The locks one request queues for: the name, or each of its slots `NAME#i`. */
function wantedOf(request: AcquireRequest): Wanted[] {
  const { name, options } = request;
  const names = options.slots === undefined ? [{ name, slot: undefined }] : Array.from({ length: options.slots }, (_, slot) => ({ name: `${name}#${slot}`, slot }));
  return names.map(({ name: lock, slot }) => ({ name: lock, dir: lockDir(options.prefix, lock), slot, value: holderValue(name, options.scope, slot, options.command) }));
}

/** etcd's refusals and unreachable members as BackendError; an abort as its reason; our own errors unchanged. */
function backendError(error: unknown, gateway: EtcdGateway, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  if (error instanceof OnlyoneError) return error;
  if (error instanceof EtcdServerError && /user name is empty/u.test(error.message)) {
    return new BackendError(`etcd at ${gateway.where} requires a login: give a user in the URL (etcd://user:password@host:2379) or in ETCDCTL_USER`, { cause: error });
  }
  if (error instanceof EtcdServerError) return new BackendError(`etcd at ${gateway.where} refused the request: ${error.message}`, { cause: error });
  return new BackendError(`etcd at ${gateway.where} failed: ${(error as Error).message}`, { cause: error });
}

/** Waits for the first of our queued keys to reach the front; the others stay queued until the caller drops them. */
async function waitAny(gateway: EtcdGateway, queued: readonly Queued[], lease: EtcdLease, signal: AbortSignal | undefined): Promise<Queued> {
  const done = new AbortController();
  const any = signal === undefined ? done.signal : AbortSignal.any([signal, done.signal]);
  const waits = queued.map((entry) => waitTurn(gateway, entry, lease, any).then(() => entry));
  for (const wait of waits) wait.catch(() => {});
  try {
    // The first to finish decides: a turn, or an error (lost lease, abort, a refusal) that ends every wait.
    return await Promise.race(waits);
  } finally {
    done.abort();
    await Promise.allSettled(waits);
  }
}

/** Deletes our keys in the locks we no longer queue for (the other slots), so they pass to the next in line. */
async function dropOthers(gateway: EtcdGateway, queued: readonly Queued[], kept: Queued): Promise<void> {
  const others = queued.filter((entry) => entry !== kept);
  if (others.length === 0) return;
  await gateway.call('kv/txn', { success: others.map(({ key }) => ({ request_delete_range: { key: b64(key) } })) });
}

/**
 * The etcd backend. Throws LockBusyError (naming the holder from its key's value), LockTimeoutError,
 * LockLostError (a waiter's own lease ended), InvalidOptionError (bad URL, `replace`) and BackendError
 * (`ERR_BACKEND`: unreachable, login refused, permission denied).
 * @internal
 */
export const etcdBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: false, messaging: false, slots: true, fencing: true, replace: false },

  async acquire(request: AcquireRequest): Promise<BackendLock> {
    const { name, options, signal } = request;
    checkText('lock name', name);
    if (options.replace !== undefined) throw new InvalidOptionError('The `replace` option is not supported by the etcd backend: nothing can reach a holder on another machine');
    if (options.onMessage !== undefined) throw new InvalidOptionError('The `onMessage` option is not supported by the etcd backend: nothing can reach a holder on another machine');
    const gateway = gatewayFor(options);
    const wanted = wantedOf(request);
    let lease: EtcdLease | undefined;
    let lock: EtcdLock | undefined;
    try {
      lease = await EtcdLease.grant(gateway, name, options.ttlSeconds, signal);
      const lines = await enqueue(gateway, lease, wanted, signal);
      const queued = lines.map((line) => line.queued);
      const ours = lines.find((line) => line.contenders[0]?.key === line.queued.key)?.queued;
      if (ours === undefined && !options.wait) {
        const first = lines[0];
        const front: Contender | undefined = first?.contenders[0];
        const holder = request.describeHolder && first !== undefined && front !== undefined ? holderOf(front, name, options.scope, first.queued.slot) : undefined;
        throw new LockBusyError(name, holder, options.slots === undefined ? undefined : { cause: new Error(`all ${options.slots} slots are held`) });
      }
      const kept = ours ?? (await waitAny(gateway, queued, lease, signal));
      await dropOthers(gateway, queued, kept);
      lock = new EtcdLock(kept, lease, gateway);
      lock.setRef(options.ref);
      return lock;
    } catch (error) {
      throw backendError(error, gateway, signal);
    } finally {
      // Revoking deletes every key we queued: the lock (or slot) passes to the next in line at once.
      if (lock === undefined) await lease?.revoke();
    }
  },

  async status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    checkText('lock name', name);
    const gateway = gatewayFor(options);
    try {
      const front = (await contenders(gateway, lockDir(options.prefix, name))).contenders[0];
      const slot = /#(\d+)$/u.exec(name);
      return front === undefined ? undefined : holderOf(front, name, options.scope, slot === null ? undefined : Number(slot[1]));
    } catch (error) {
      throw backendError(error, gateway, undefined);
    }
  },

  async list(options: NormalizedOptions): Promise<Holder[]> {
    const gateway = gatewayFor(options);
    let answer;
    try {
      answer = await gateway.call('kv/range', { key: b64(options.prefix), range_end: prefixEnd(options.prefix), sort_order: 'ASCEND', sort_target: 'CREATE' });
    } catch (error) {
      throw backendError(error, gateway, undefined);
    }
    // Sorted by create revision: the first key seen for a lock is its holder.
    const holders = new Map<string, Holder>();
    for (const contender of contendersOf(answer)) {
      const lock = lockNameOf(contender.key, options.prefix);
      if (lock !== undefined && !holders.has(lock)) holders.set(lock, holderOf(contender, lock, options.scope, undefined));
    }
    return [...holders.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },

  async ledger(name: string, options: NormalizedOptions, lock: BackendLock) {
    const gateway = gatewayFor(options);
    const ledger = etcdLedger(gateway, options.prefix, name, lock);
    const wrapped = <T>(step: () => Promise<T>): Promise<T> => step().catch((error: unknown) => Promise.reject(backendError(error, gateway, undefined)));
    return { read: () => wrapped(() => ledger.read()), start: (record) => wrapped(() => ledger.start(record)), end: (record, exit) => wrapped(() => ledger.end(record, exit)) };
  },

  async lastRun(name: string, options: NormalizedOptions) {
    checkText('lock name', name);
    const gateway = gatewayFor(options);
    try {
      return await lastRun(gateway, options.prefix, name);
    } catch (error) {
      throw backendError(error, gateway, undefined);
    }
  },
};
