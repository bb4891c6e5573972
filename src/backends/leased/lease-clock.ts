import { monotonicMs } from '../../monotonic.js';

/**
 * The lease accounting of a leased lock, for any backend whose server frees a lock by itself once the holder has
 * been silent for `ttlMs` (postgres: `idle_session_timeout`; etcd: the lease TTL).
 *
 * The server's countdown can only have started after the holder's last request was *sent*, so the lock is counted as
 * held until `send time of the last answered request + ttlMs - margin`, never from an answer's arrival. The deadline
 * is kept on the monotonic clock and on the wall clock (the monotonic clock stops while a machine is suspended); the
 * earlier of the two wins, so a forward step of the wall clock can end a lock early, never late.
 * @internal
 */
export class LeaseClock {
  readonly ttlMs: number;
  /** How long before the server's earliest release this process gives up: a tenth of the TTL, at most 1 s. */
  readonly marginMs: number;
  #deadline: number;
  #wallDeadline: number;

  /** `sentAt`: monotonicMs() when the request that granted (or renewed) the lock was sent. */
  constructor(ttlMs: number, sentAt: number) {
    this.ttlMs = ttlMs;
    this.marginMs = Math.min(1000, Math.ceil(ttlMs / 10));
    this.#deadline = sentAt + ttlMs - this.marginMs;
    this.#wallDeadline = Date.now() - (monotonicMs() - sentAt) + ttlMs - this.marginMs;
  }

  /** A renewal sent at `sentAt` (monotonicMs()) and `sentAtWall` (Date.now()) was answered. */
  renewed(sentAt: number, sentAtWall: number): void {
    this.#deadline = Math.max(this.#deadline, sentAt + this.ttlMs - this.marginMs);
    this.#wallDeadline = Math.max(this.#wallDeadline, sentAtWall + this.ttlMs - this.marginMs);
  }

  /** Milliseconds past the deadline (negative while the lease holds). */
  lateByMs(): number {
    return Math.max(monotonicMs() - this.#deadline, Date.now() - this.#wallDeadline);
  }

  /** The deadline on the monotonic clock (monotonicMs()), for timers. */
  get deadline(): number {
    return this.#deadline;
  }

  /** What `BackendLock.lease()` reports, without the descriptor. */
  remaining(): { readonly lostInMs: number; readonly expiresInMs: number } {
    const lostInMs = -this.lateByMs();
    return { lostInMs, expiresInMs: lostInMs + this.marginMs };
  }
}
