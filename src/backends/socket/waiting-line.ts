import { FRONT, FrontMarker, QueueTicket, frontTicket, holderTicket, lineAddresses, waitForPredecessor } from './queue.js';

/**
 * One waiter's use of the line for a lock (see queue.ts): take a ticket on the first wait, wait behind the
 * nearest waiter ahead, mark the front of the line while watching the holder, and leave the line once the lock is
 * taken or the wait ends.
 * @internal
 */
export class WaitingLine {
  readonly #prefix: string;
  readonly #lockAddress: string;
  #ticket: QueueTicket | undefined;
  #front: FrontMarker | undefined;
  #joined = false;
  /** The front's ticket as `hasWaiters` read it, for the first turn. */
  #seenFront: number | undefined;
  /** How our last wait behind another waiter ended. */
  #ahead: 'took' | 'none' = 'none';
  /** Waiters ahead that the line was stuck behind (stopped processes): passed over for the rest of this wait. */
  readonly #stalled = new Set<number>();

  constructor(prefix: string, lockAddress: string) {
    this.#prefix = prefix;
    this.#lockAddress = lockAddress;
  }

  /** The line's addresses, built on first use: the hash in them costs a cold process a fraction of a millisecond. */
  #addresses: ((n: number | typeof FRONT) => string) | undefined;

  readonly #addressOf = (n: number): string => this.#address(n);

  #address(n: number | typeof FRONT): string {
    this.#addresses ??= lineAddresses(this.#prefix, this.#lockAddress);
    return this.#addresses(n);
  }

  get #frontAddress(): string {
    return this.#address(FRONT);
  }

  /** Our ticket, once in line. */
  get ticket(): number | undefined {
    return this.#ticket?.ticket;
  }

  /**
   * True when others already wait in this line: a waiter must then queue behind them rather than try the lock
   * first, or it could take a release meant for the front of the line. One refused connect when nobody waits.
   */
  async hasWaiters(): Promise<boolean> {
    this.#seenFront = await frontTicket(this.#frontAddress);
    return this.#seenFront !== undefined;
  }

  /**
   * Resolves true after waiting behind an earlier waiter (the caller then looks again), false when it is our turn to
   * watch the holder ourselves. The squatting check stays with that watch, which runs it while it already waits:
   * here it would delay the first watch by koffi's load.
   */
  async waitTurn(pollIntervalMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    // At the front already: the holder itself is next.
    if (this.#front !== undefined) return false;
    // The waiter ahead took the lock and said so (the usual case): watch it at once, without asking the line.
    if (this.#ahead === 'took') {
      this.#ahead = 'none';
      await this.#lead();
      return false;
    }
    // The line starts at its front waiter; without one, right after the holder's own ticket (0 if it never waited).
    const front = this.#seenFront ?? (await frontTicket(this.#frontAddress));
    this.#seenFront = undefined;
    const head = front !== undefined ? front - 1 : await holderTicket(this.#lockAddress);
    // Neither a front nor a holder: the lock was free an instant ago. Try it rather than guess where the line starts:
    // numbering from 1 would put us ahead of a line whose front is between two waiters at this very instant.
    if (head === undefined) return false;
    if (!this.#joined) {
      this.#joined = true;
      this.#ticket = await QueueTicket.take(this.#addressOf, head);
    }
    if (this.#ticket === undefined) return false;
    const ahead = await waitForPredecessor(this.#addressOf, this.#ticket.ticket, head, this.#stalled, this.#lockAddress, pollIntervalMs, signal);
    if (ahead.outcome === 'none') {
      await this.#lead();
      return false;
    }
    if (ahead.outcome === 'stalled') this.#stalled.add(ahead.ticket);
    this.#ahead = ahead.outcome === 'took' ? 'took' : 'none';
    return true;
  }

  /** Nobody is ahead of us: mark the front of the line, so newcomers queue behind us. */
  async #lead(): Promise<void> {
    const ticket = this.#ticket;
    if (ticket !== undefined && this.#front === undefined) this.#front = await FrontMarker.bind(this.#frontAddress, ticket.ticket);
  }

  /**
   * Leaves the line, which wakes the waiter behind (`took`: telling it we hold the lock now); the front marker goes
   * first, so that waiter can take it over. Deferred to the next turn of the event loop: closing sockets costs a
   * cold process a fraction of a millisecond, which must not delay the lock's acquisition.
   */
  leave(took: boolean): void {
    const ticket = this.#ticket;
    const front = this.#front;
    this.#ticket = undefined;
    this.#front = undefined;
    if (ticket !== undefined || front !== undefined) {
      setImmediate(() => {
        front?.close();
        ticket?.close(took);
      });
    }
  }
}
