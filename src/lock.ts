import type { Scope } from './address.js';
import type { BackendLock, Lease } from './backends/types.js';
import { monotonicMs } from './monotonic.js';
import { LockLostError, LockReleasedError } from './errors.js';
import type { StartedRun } from './once-per/begin.js';
import type { RunExit, RunRecord } from './once-per/record.js';
import type { PendingRerun, Reruns } from './holder/reruns.js';

/** What the generic layer adds to a backend's lock: the `oncePer` run, the `minHoldMs` floor. @internal */
export interface LockExtras {
  readonly run: StartedRun | undefined;
  readonly minHoldMs: number | undefined;
  readonly reruns: Reruns | undefined;
}

/**
 * A held lock. Release it with `release()` or `await using`; it is also freed by the kernel the moment
 * this process exits, however it exits.
 *
 * @example
 * ```ts
 * await using lock = await acquire('nightly-backup');
 * await backup({ signal: lock.signal });
 * ```
 */
export class Lock implements AsyncDisposable {
  /** The lock name, as given. */
  readonly name: string;
  /** `user` or `system`. */
  readonly scope: Scope;
  /** The backend's address for the lock (for `abstract`, the NUL-padded socket name). */
  readonly address: string;
  /** Backend that holds the lock. */
  readonly backend: string;
  /** Fencing token on backends that have one, otherwise undefined. */
  readonly fence: string | undefined;
  /** Which of the `slots` this lock is (`NAME#<slot>`), or undefined when not taken with `slots`. */
  readonly slot: number | undefined;
  /** When the lock was acquired, in ms since the epoch. */
  readonly acquiredAt: number;
  /** With `replace`: how the previous holder went (`released` on request, `terminated`, `killed`); undefined if the lock was free. */
  readonly replaced: 'released' | 'terminated' | 'killed' | undefined;
  readonly #inner: BackendLock;
  // Created on first use of `signal`: an AbortController, its listener and the LockReleasedError cost about as
  // much as the bind itself on Node 20, and most callers never look at the signal.
  #controller: AbortController | undefined;
  #release: Promise<void> | undefined;
  #releaseDone = false;
  readonly #startedRun: StartedRun | undefined;
  #run: RunRecord | undefined;
  #exit: RunExit = 0;
  /** monotonicMs() before which release() does not let go (`minHoldMs`). */
  readonly #holdUntil: number | undefined;
  readonly #reruns: Reruns | undefined;

  /** @internal */
  constructor(name: string, scope: Scope, backend: string, inner: BackendLock, extras?: LockExtras) {
    this.name = name;
    this.scope = scope;
    this.backend = backend;
    this.address = inner.address;
    this.fence = inner.fence;
    this.slot = inner.slot;
    this.replaced = inner.replaced;
    this.acquiredAt = Date.now();
    this.#inner = inner;
    this.#startedRun = extras?.run;
    this.#run = extras?.run?.record;
    this.#holdUntil = extras?.minHoldMs === undefined ? undefined : monotonicMs() + extras.minHoldMs;
    this.#reruns = extras?.reruns;
  }

  /**
   * With `coalesce`: the rerun that triggers asked for since the current run started (the latest trigger's command,
   * and how many triggers it stands for), or undefined. Call it when a run ends: run what it returns, then call it
   * again. When it returns undefined the lock stops accepting triggers (they race for the lock instead), so release
   * the lock then. Call `settle(exit)` on what it returns to answer the triggers that wait for that rerun.
   *
   * @example
   * ```ts
   * await using lock = await acquire('reindex', { coalesce: true });
   * await reindex();
   * for (let next = await lock.takeRerun(); next; next = await lock.takeRerun()) next.settle(await reindex(next.argv));
   * ```
   * @throws BackendError when the backend cannot be read (postgres).
   */
  async takeRerun(): Promise<PendingRerun | undefined> {
    return this.#reruns?.take();
  }

  /**
   * With `oncePer`: the record of this run as the backend keeps it (its window, start, and once released its end
   * and exit). Undefined without `oncePer`.
   */
  get run(): RunRecord | undefined {
    return this.#run;
  }

  /**
   * With `oncePer`: how the run ended (an exit status, or a signal name), written to the run record by `release()`.
   * Without a call, a released run counts as exit 0; `withLock` records 1 when its function throws.
   * A run whose process dies before release records no end, and counts as failed for `retryFailed`.
   */
  recordExit(exit: number | string): void {
    this.#exit = exit;
  }

  /** Aborts when the lock stops being held: `LockLostError` if it was lost, `LockReleasedError` after `release()`. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      // verify() lets a backend declare the lock lost at once (a lease that ran out while the process was stopped).
      if (!this.#releaseDone) this.#inner.verify?.();
      const controller = new AbortController();
      this.#controller = controller;
      const lost = this.#inner.lost;
      const onLost = (): void => {
        if (!controller.signal.aborted) controller.abort(lost.reason instanceof LockLostError ? lost.reason : new LockLostError(this.name, String(lost.reason)));
      };
      if (lost.aborted) onLost();
      else if (this.#releaseDone) controller.abort(new LockReleasedError(this.name));
      else lost.addEventListener('abort', onLost, { once: true });
    } else if (!this.#controller.signal.aborted) {
      this.#inner.verify?.();
    }
    return this.#controller.signal;
  }

  /** True until the lock is released or lost. */
  get held(): boolean {
    if (this.#releaseDone) return false;
    this.#inner.verify?.();
    return !this.#inner.lost.aborted;
  }

  /**
   * The descriptor that holds the lock, for handing to a child process (as `stdio[3]`) so the lock lasts as
   * long as the child. Undefined on backends whose lock is not a descriptor, and after release.
   */
  get fd(): number | undefined {
    return this.held ? this.#inner.fd : undefined;
  }

  /**
   * On leased backends (`postgres`): how long the lock is safe without another renewal, and the connection that
   * holds it. Undefined on backends whose lock lasts as long as its descriptor, and once released or lost.
   * `onlyone run` hands it to a guard process that kills the command if this process is stopped past the lease.
   */
  get lease(): Lease | undefined {
    if (this.#releaseDone) return undefined;
    this.#inner.verify?.();
    return this.#inner.lost.aborted ? undefined : this.#inner.lease?.();
  }

  /** Keep the event loop alive while the lock is held. By default a held lock does not. */
  ref(): this {
    this.#inner.setRef(true);
    return this;
  }

  /** Let the process exit while the lock is held (the default). */
  unref(): this {
    this.#inner.setRef(false);
    return this;
  }

  /** Releases the lock and wakes every waiter. Safe to call any number of times; all calls share one promise. */
  release(): Promise<void> {
    // Triggers that arrive from now on race for the lock instead of waiting for a rerun that will not come.
    this.#reruns?.close();
    // Without a run record or a hold, the backend releases synchronously here (the socket is closed before we return).
    const plain = this.#startedRun === undefined && this.#holdUntil === undefined;
    this.#release ??= (plain ? this.#inner.release() : this.#finishRun().then(() => this.#inner.release())).finally(() => {
      this.#releaseDone = true;
      if (this.#controller !== undefined && !this.#controller.signal.aborted) this.#controller.abort(new LockReleasedError(this.name));
    });
    return this.#release;
  }

  /** Records the run's end (`oncePer`), then waits out `minHoldMs`, both only while the lock is still held. */
  async #finishRun(): Promise<void> {
    const started = this.#startedRun;
    if (started !== undefined && !this.#inner.lost.aborted) {
      // A record that cannot be written stays without an end: the run then counts as failed, never as missing.
      this.#run = await started.ledger.end(started.record, this.#exit).catch(() => this.#run);
    }
    const wait = this.#holdUntil === undefined ? 0 : this.#holdUntil - monotonicMs();
    if (wait <= 0 || this.#inner.lost.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#inner.lost.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.#inner.lost.addEventListener('abort', done, { once: true });
    });
  }

  /** Same as `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
