import type { BackendLock, Lease } from '../types.js';
import type { EtcdGateway } from './gateway.js';
import type { EtcdLease } from './lease.js';
import { watchOwnKey, type Queued } from './mutex.js';

/**
 * A held etcd lock: our key is the oldest in its lock's directory, on a lease this process keeps alive. A watch on
 * the key ends the lock the moment the key goes (a revoked lease, an `etcdctl del`), without waiting for the next
 * keepalive. Releasing revokes the lease, which deletes the key in the same step and wakes the next contender's watch.
 * @internal
 */
export class EtcdLock implements BackendLock {
  readonly address: string;
  /** The key's create revision: larger for every later holder of the lock. */
  readonly fence: string;
  readonly slot: number | undefined;
  readonly fd: undefined = undefined;
  readonly #lease: EtcdLease;
  readonly #unwatch = new AbortController();
  #release: Promise<void> | undefined;

  constructor(queued: Queued, lease: EtcdLease, gateway: EtcdGateway) {
    this.address = queued.key;
    this.fence = queued.revision;
    this.slot = queued.slot;
    this.#lease = lease;
    const stop = AbortSignal.any([this.#unwatch.signal, lease.lost]);
    void watchOwnKey(gateway, queued, lease, stop, 'while it held the lock', true);
  }

  get lost(): AbortSignal {
    return this.#lease.lost;
  }

  verify(): void {
    this.#lease.verify();
  }

  lease(): Lease | undefined {
    return this.#release === undefined ? this.#lease.lease() : undefined;
  }

  setRef(keepAlive: boolean): void {
    this.#lease.setRef(keepAlive);
  }

  release(): Promise<void> {
    this.#unwatch.abort();
    this.#release ??= this.#lease.revoke();
    return this.#release;
  }
}
