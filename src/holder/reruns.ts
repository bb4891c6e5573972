import type { PeerIdentity } from './messages.js';

/** A trigger's request for one more run (`onlyone run --coalesce`, `requestRerun()`). */
export interface RerunRequest {
  /** The command line to run, exactly as the trigger gave it. */
  readonly argv: readonly string[];
  /** The trigger's working directory ('' when it had none). */
  readonly cwd: string;
  /** The trigger's environment, when it asked for it to be used (`--pass-env`); otherwise undefined. */
  readonly env: Readonly<Record<string, string>> | undefined;
  /** Who sent it. */
  readonly from: PeerIdentity;
}

/** The one rerun a coalescing holder owes: the latest trigger's command, standing for every trigger since the last run started. */
export interface PendingRerun extends RerunRequest {
  /** How many triggers this rerun stands for. */
  readonly triggers: number;
  /** Tells the triggers that wait for it how the rerun ended: an exit status or a signal name. */
  settle(exit: number | string): void;
}

/** Where a coalescing holder's pending rerun lives: in the process (socket backends) or in the backend (postgres). @internal */
export interface Reruns {
  /** The rerun owed now, if any; without one, triggers are no longer accepted (they race for the lock). */
  take(): Promise<PendingRerun | undefined>;
  /** Stops accepting triggers (the lock is being released). */
  close(): void;
}

/** What a trigger is told. @internal */
export type RerunReply = { readonly accepted: true; readonly triggers: number; readonly exit?: number | string } | { readonly accepted: false };

/**
 * The holder's side of `coalesce`: any number of triggers during a run become exactly one more run, with the
 * latest trigger's command (Temporal's BUFFER_ONE, BullMQ's keepLastIfActive). `take()` hands the rerun to the
 * runner; when there is none it closes the queue in the same step, so a trigger can never be accepted by a holder
 * that is about to release: it is told `accepted: false` and races for the lock itself.
 * @internal
 */
export class RerunQueue implements Reruns {
  #pending: { request: RerunRequest; triggers: number; waiters: Array<(reply: RerunReply) => void> } | undefined;
  #closed = false;
  readonly #onRequest: ((pending: PendingRerun) => void) | undefined;

  constructor(onRequest: ((pending: PendingRerun) => void) | undefined) {
    this.#onRequest = onRequest;
  }

  /** Accepts a trigger. Resolves at once, or with `wait` once the rerun it joined has ended. */
  handle(request: RerunRequest, wait: boolean): Promise<RerunReply> {
    if (this.#closed) return Promise.resolve({ accepted: false });
    const pending = this.#pending ?? { request, triggers: 0, waiters: [] };
    pending.request = request;
    pending.triggers++;
    this.#pending = pending;
    const triggers = pending.triggers;
    try {
      this.#onRequest?.(this.#view(pending));
    } catch (error) {
      process.emitWarning(`onRerunRequest failed: ${error instanceof Error ? error.message : String(error)}`, 'OnlyoneWarning');
    }
    if (!wait) return Promise.resolve({ accepted: true, triggers });
    return new Promise((resolve) => pending.waiters.push(resolve));
  }

  /** The rerun owed now, if any. Without one the queue closes: later triggers are turned away to race for the lock. */
  async take(): Promise<PendingRerun | undefined> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) {
      this.close();
      return undefined;
    }
    return this.#view(pending);
  }

  /** Stops accepting; triggers waiting for a rerun that will not run are told to race for the lock. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#pending?.waiters.splice(0) ?? []) waiter({ accepted: false });
    this.#pending = undefined;
  }

  #view(pending: { request: RerunRequest; triggers: number; waiters: Array<(reply: RerunReply) => void> }): PendingRerun {
    const { triggers } = pending;
    return {
      ...pending.request,
      triggers,
      settle: (exit) => {
        for (const waiter of pending.waiters.splice(0)) waiter({ accepted: true, triggers, exit });
      },
    };
  }
}
