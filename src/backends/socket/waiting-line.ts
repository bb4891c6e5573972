import { QueueTicket, holderTicket, ticketAddress, waitForPredecessor } from './queue.js';

/**
 * One waiter's use of the line for a lock (see queue.ts): take a ticket on the first wait, wait behind the
 * nearest waiter ahead, and leave the line once the lock is taken or the wait ends.
 * @internal
 */
export class WaitingLine {
  readonly #addressOf: (n: number) => string;
  readonly #lockAddress: string;
  #ticket: QueueTicket | undefined;
  #joined = false;
  /** How our last wait behind another waiter ended. */
  #ahead: 'took' | 'left' | 'none' = 'none';

  constructor(prefix: string, lockAddress: string) {
    this.#lockAddress = lockAddress;
    this.#addressOf = (n) => ticketAddress(prefix, lockAddress, n);
  }

  /** Our ticket, once in line. */
  get ticket(): number | undefined {
    return this.#ticket?.ticket;
  }

  /**
   * Resolves true after waiting behind an earlier waiter (the caller then looks again), false when it is our turn to
   * watch the holder ourselves. The squatting check stays with that watch, which runs it while it already waits:
   * here it would delay the first watch by koffi's load.
   */
  async waitTurn(pollIntervalMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    // The waiter ahead took the lock and said so (the usual case): watch it at once, without asking the line.
    if (this.#ahead === 'took') {
      this.#ahead = 'none';
      return false;
    }
    // Nothing answers: the lock is free, maybe for the instant of a handoff to a waiter ahead of us. Then only a
    // line with nobody left ahead of us lets us try it: look for anyone in it at all.
    const head = (await holderTicket(this.#lockAddress)) ?? 0;
    if (!this.#joined) {
      this.#joined = true;
      this.#ticket = await QueueTicket.take(this.#addressOf, head);
    }
    if (this.#ticket === undefined) return false;
    this.#ahead = await waitForPredecessor(this.#addressOf, this.#ticket.ticket, head, this.#lockAddress, pollIntervalMs, signal);
    return this.#ahead !== 'none';
  }

  /**
   * Leaves the line, which wakes the waiter behind (`took`: telling it we hold the lock now). Deferred to the next turn of the event loop: closing sockets
   * costs a cold process a fraction of a millisecond, which must not delay the lock's acquisition.
   */
  leave(took: boolean): void {
    const ticket = this.#ticket;
    this.#ticket = undefined;
    if (ticket !== undefined) setImmediate(() => ticket.close(took));
  }
}
