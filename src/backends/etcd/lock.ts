import type { BackendLock, Lease } from '../types.js';
import type { EtcdLease } from './lease.js';
import type { Queued } from './mutex.js';

/**
 * A held etcd lock: our key is the oldest in its lock's directory, on a lease this process keeps alive. Releasing
 * revokes the lease, which deletes the key in the same step and wakes the next contender's watch.
 * @internal
 */
export class EtcdLock implements BackendLock {
  readonly address: string;
  /** The key's create revision: larger for every later holder of the lock. */
  readonly fence: string;
  readonly slot: number | undefined;
  readonly fd: undefined = undefined;
  readonly #lease: EtcdLease;
  #release: Promise<void> | undefined;

  constructor(queued: Queued, lease: EtcdLease) {
    this.address = queued.key;
    this.fence = queued.revision;
    this.slot = queued.slot;
    this.#lease = lease;
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
    this.#release ??= this.#lease.revoke();
    return this.#release;
  }
}
