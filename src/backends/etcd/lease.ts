import { monotonicMs } from '../../monotonic.js';
import { BackendError, LockLostError } from '../../errors.js';
import { LeaseClock, type Lease } from '../leased/index.js';
import { EtcdServerError, type EtcdGateway } from './gateway.js';

/** After a keepalive that got no answer, the next try comes this soon (never later than the regular one). */
const RETRY_MS = 250;
/** gRPC NotFound: etcd's "requested lease not found". */
const NOT_FOUND = 5;

/**
 * An etcd lease kept alive from this process: a keepalive every TTL/3, and the lease counts as lost TTL − margin
 * after the *send* time of the last answered keepalive (the shared LeaseClock of the leased backends). A keepalive
 * answered without a TTL, or with TTL ≤ 0, means the server already dropped it. Keepalives run from the grant on,
 * through any wait, so a lock granted after a long wait is dated from a renewal at most TTL/3 old.
 * Timers are unref'd unless `setRef(true)`: a held lock does not keep the process alive.
 * @internal
 */
export class EtcdLease {
  /** The lease id as etcd sends it: a decimal string, since ids exceed 2^53. */
  readonly id: string;
  readonly ttlMs: number;
  readonly #gateway: EtcdGateway;
  readonly #name: string;
  readonly #controller = new AbortController();
  readonly #clock: LeaseClock;
  #nextBeatAt: number;
  #inFlight: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ref = false;
  #ended = false;

  /**
   * Grants a lease of `ttlSeconds` (etcd may raise it to its minimum) and starts keeping it alive.
   * @throws BackendError when etcd cannot be reached or refuses; aborting `signal` rejects with its reason.
   */
  static async grant(gateway: EtcdGateway, name: string, ttlSeconds: number, signal: AbortSignal | undefined): Promise<EtcdLease> {
    const sentAt = monotonicMs();
    const granted = await gateway.call('lease/grant', { TTL: String(ttlSeconds) }, signal);
    const id = granted['ID'];
    const ttl = Number(granted['TTL']);
    if (typeof id !== 'string' || !/^\d+$/u.test(id) || !(ttl > 0)) throw new BackendError(`etcd at ${gateway.where} granted no usable lease: ${JSON.stringify(granted)}`);
    return new EtcdLease(gateway, name, id, ttl * 1000, sentAt);
  }

  private constructor(gateway: EtcdGateway, name: string, id: string, ttlMs: number, sentAt: number) {
    this.#gateway = gateway;
    this.#name = name;
    this.id = id;
    this.ttlMs = ttlMs;
    this.#clock = new LeaseClock(ttlMs, sentAt);
    this.#nextBeatAt = sentAt + ttlMs / 3;
    this.#schedule();
  }

  /** Aborts, with LockLostError, when the lease is or may be gone. */
  get lost(): AbortSignal {
    return this.#controller.signal;
  }

  /** Declares the lease lost at once if its deadline passed (e.g. while the process was stopped). */
  verify(): void {
    if (!this.#ended && !this.#controller.signal.aborted) this.#checkDeadline();
  }

  /** Time left, for the CLI's lease guard; undefined once ended or lost. No descriptor: the lease is not a connection. */
  lease(): Lease | undefined {
    if (this.#ended || this.#controller.signal.aborted) return undefined;
    return { ...this.#clock.remaining(), fd: undefined };
  }

  setRef(keepAlive: boolean): void {
    this.#ref = keepAlive;
    if (keepAlive) this.#timer?.ref();
    else this.#timer?.unref();
  }

  /** Stops the keepalives and revokes the lease, which deletes its keys at once. Best effort: it expires anyway. */
  async revoke(): Promise<void> {
    this.#end();
    try {
      await this.#gateway.call('lease/revoke', { ID: this.id });
    } catch {
      // Unreachable or already gone: the server drops the lease (and its keys) after the TTL.
    }
  }

  /** Stops keeping the lease alive without revoking it. */
  #end(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#inFlight?.abort();
  }

  /** Declares the lease lost (its key was deleted, the server dropped it): `lost` aborts with LockLostError. */
  lose(why: string, cause?: unknown): void {
    if (this.#ended || this.#controller.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#inFlight?.abort();
    this.#controller.abort(new LockLostError(this.#name, why, cause === undefined ? undefined : { cause }));
  }

  #checkDeadline(): boolean {
    const late = this.#clock.lateByMs();
    if (late < 0) return true;
    const silentFor = Math.round(late + this.ttlMs - this.#clock.marginMs);
    this.lose(`no keepalive of its etcd lease was answered for ${silentFor} ms (the process was stopped or etcd at ${this.#gateway.where} is unreachable), and the lease's TTL is ${this.ttlMs / 1000} s`);
    return false;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#ended || this.#controller.signal.aborted) return;
    const deadline = this.#clock.deadline;
    const next = this.#inFlight === undefined ? Math.min(deadline, this.#nextBeatAt) : deadline;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, next - monotonicMs()));
    if (!this.#ref) this.#timer.unref();
  }

  #onTimer(): void {
    if (!this.#checkDeadline()) return;
    if (this.#inFlight === undefined && monotonicMs() >= this.#nextBeatAt) this.#beat();
    this.#schedule();
  }

  #beat(): void {
    const sentAt = monotonicMs();
    const sentAtWall = Date.now();
    const inFlight = new AbortController();
    this.#inFlight = inFlight;
    this.#nextBeatAt = sentAt + this.ttlMs / 3;
    // No point waiting for an answer that would come after the deadline.
    const timeoutMs = Math.max(1, Math.min(this.ttlMs / 3, this.#clock.deadline - sentAt));
    this.#gateway.call('lease/keepalive', { ID: this.id }, inFlight.signal, timeoutMs).then(
      (answer) => {
        this.#inFlight = undefined;
        if (this.#ended || this.#controller.signal.aborted) return;
        const ttl = Number(answer['TTL'] ?? 0);
        // The gateway answers a keepalive of a dead lease with 200 and no TTL.
        if (!(ttl > 0)) return this.lose(`etcd at ${this.#gateway.where} says its lease ${BigInt(this.id).toString(16)} has expired`);
        if (!this.#checkDeadline()) return;
        this.#clock.renewed(sentAt, sentAtWall);
        this.#schedule();
      },
      (error: unknown) => {
        this.#inFlight = undefined;
        if (this.#ended || this.#controller.signal.aborted) return;
        if (error instanceof EtcdServerError && error.code === NOT_FOUND) return this.lose(`etcd at ${this.#gateway.where} no longer knows its lease: ${error.message}`, error);
        // Unreachable for now: try again soon; the deadline decides when the lock is lost.
        this.#nextBeatAt = Math.min(this.#nextBeatAt, monotonicMs() + RETRY_MS);
        this.#schedule();
      },
    );
  }
}
