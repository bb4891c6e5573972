import { monotonicMs } from '../../monotonic.js';
import { LockLostError } from '../../errors.js';
import type { PgClient, PgResult } from './driver.js';
import { unlockSql } from './sql.js';
import { LeaseClock } from '../leased/index.js';
import type { BackendLock, Lease } from '../types.js';

/** What a PostgresLock needs from the acquisition. @internal */
export interface PostgresLockInit {
  readonly client: PgClient;
  readonly name: string;
  readonly key: bigint;
  readonly fence: string;
  readonly table: boolean;
  /** monotonicMs() when the statement that took the lock was sent: the server's idle clock started later. */
  readonly sentAt: number;
  readonly idleSessionTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly ref: boolean;
}

/** How long a closing connection may take before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

/**
 * A session advisory lock on its own connection. The server ends the session (and frees the lock) after
 * `idleSessionTimeoutMs` without a statement, so the holder sends `SELECT 1` every `heartbeatMs` and counts the
 * lock as held only until `last answered heartbeat sent + idleSessionTimeoutMs - margin`. Past that point (the
 * process was stopped, the server stopped answering) the lock is lost before any other check can say otherwise.
 * @internal
 */
export class PostgresLock implements BackendLock {
  readonly address: string;
  readonly fence: string;
  readonly fd: undefined = undefined;
  readonly #controller = new AbortController();
  readonly #init: PostgresLockInit;
  readonly #lease: LeaseClock;
  #nextBeatAt: number;
  #beatInFlight = false;
  #timer: NodeJS.Timeout | undefined;
  #ref: boolean;
  /** Statements of query() in flight; the connection stays ref'd while there are any. */
  #queries = 0;
  #released = false;
  #release: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(init: PostgresLockInit) {
    this.#init = init;
    this.address = `pg-advisory:${init.key}`;
    this.fence = init.fence;
    this.#ref = init.ref;
    this.#lease = new LeaseClock(init.idleSessionTimeoutMs, init.sentAt);
    this.#nextBeatAt = init.sentAt + init.heartbeatMs;
    init.client.on('error', (error) => this.#lose(`the connection to PostgreSQL failed: ${error.message}`, error));
    init.client.on('end', () => this.#lose('the connection to PostgreSQL closed'));
    this.setRef(init.ref);
    this.#schedule();
  }

  get lost(): AbortSignal {
    return this.#controller.signal;
  }

  /** The advisory lock key. */
  get key(): bigint {
    return this.#init.key;
  }

  /**
   * Runs a statement on the lock's own session (the `oncePer` run records), so it succeeds only while the session
   * that holds the lock is alive. Rejects once the lock is released or lost.
   */
  query(text: string, values: readonly unknown[]): Promise<PgResult> {
    if (this.#released || this.#controller.signal.aborted) return Promise.reject(new LockLostError(this.#init.name, 'the lock is no longer held'));
    const { client } = this.#init;
    // Someone awaits the answer: an unref'd socket would let the process exit with the statement in flight.
    this.#queries++;
    client.ref();
    return client.query(text, values).finally(() => {
      if (--this.#queries === 0 && !this.#ref && !this.#released) client.unref();
    });
  }

  /** Declares the lock lost at once if its lease ran out, e.g. while the process was stopped. */
  verify(): void {
    if (!this.#released && !this.#controller.signal.aborted) this.#checkLease();
  }

  lease(): Lease | undefined {
    if (this.#released || this.#controller.signal.aborted) return undefined;
    return { ...this.#lease.remaining(), fd: socketFd(this.#init.client) };
  }

  setRef(keepAlive: boolean): void {
    this.#ref = keepAlive;
    if (keepAlive) this.#init.client.ref();
    else this.#init.client.unref();
    if (keepAlive) this.#timer?.ref();
    else this.#timer?.unref();
  }

  release(): Promise<void> {
    this.#release ??= this.#doRelease();
    return this.#release;
  }

  async #doRelease(): Promise<void> {
    const wasLost = this.#controller.signal.aborted;
    this.#released = true;
    clearTimeout(this.#timer);
    const { client, key, table } = this.#init;
    // Someone awaits this release: an unref'd socket would let the process exit before the unlock is sent.
    client.ref();
    try {
      // Unlocking explicitly (rather than only closing) makes release() resolve once waiters can take the lock.
      if (!wasLost) {
        // A server that stopped answering must not hang release(): give up waiting, and closing frees the lock.
        let timer: NodeJS.Timeout | undefined;
        const unlocked = client.query(unlockSql(table), [String(key)]);
        unlocked.catch(() => {});
        await Promise.race([unlocked, new Promise((resolve) => (timer = setTimeout(resolve, Math.min(5000, this.#init.idleSessionTimeoutMs))))]);
        clearTimeout(timer);
      }
    } catch {
      // The connection is closing anyway, and closing it frees the lock.
    } finally {
      await this.#close();
    }
  }

  #checkLease(): boolean {
    const late = this.#lease.lateByMs();
    if (late < 0) return true;
    const silentFor = Math.round(late + this.#init.idleSessionTimeoutMs - this.#lease.marginMs);
    this.#lose(`no heartbeat was answered for ${silentFor} ms (the process was stopped or the server is unreachable), so the server may have ended the session after idle_session_timeout (${this.#init.idleSessionTimeoutMs} ms)`);
    return false;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#released || this.#controller.signal.aborted) return;
    const next = this.#beatInFlight ? this.#lease.deadline : Math.min(this.#lease.deadline, this.#nextBeatAt);
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, next - monotonicMs()));
    if (!this.#ref) this.#timer.unref();
  }

  #onTimer(): void {
    if (!this.#checkLease()) return;
    if (!this.#beatInFlight && monotonicMs() >= this.#nextBeatAt) this.#beat();
    this.#schedule();
  }

  #beat(): void {
    const sentAt = monotonicMs();
    const sentAtWall = Date.now();
    this.#beatInFlight = true;
    this.#nextBeatAt = sentAt + this.#init.heartbeatMs;
    this.#init.client.query('SELECT 1').then(
      () => {
        this.#beatInFlight = false;
        if (this.#released || this.#controller.signal.aborted || !this.#checkLease()) return;
        this.#lease.renewed(sentAt, sentAtWall);
        this.#schedule();
      },
      (error: unknown) => this.#lose(`the heartbeat failed: ${(error as Error).message}`, error),
    );
  }

  #lose(why: string, cause?: unknown): void {
    if (this.#released || this.#controller.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#controller.abort(new LockLostError(this.#init.name, why, cause === undefined ? undefined : { cause }));
    // Close the session too: if it is somehow still alive, it must not keep a lock this process no longer uses.
    void this.#close();
  }

  #close(): Promise<void> {
    this.#closing ??= this.#end();
    return this.#closing;
  }

  #end(): Promise<void> {
    const { client } = this.#init;
    const socket = (client as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    const guard = setTimeout(() => socket?.destroy(), CLOSE_GRACE_MS);
    guard.unref();
    return client.end().catch(() => {}).finally(() => clearTimeout(guard));
  }
}

/** The descriptor under pg's socket (a private field of node's net.Socket), or undefined where it cannot be had. */
function socketFd(client: PgClient): number | undefined {
  const fd = (client as { connection?: { stream?: { _handle?: { fd?: unknown } } } }).connection?.stream?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
