import net from 'node:net';
import { HolderConnection } from '../../client/holder-connection.js';
import { sleep } from '../../sleep.js';

/** Longest wait for a holder's hello when reading its queue ticket: a holder that says nothing is treated as ticket 0. */
const TICKET_HELLO_MS = 200;
/** What a waiter that took the lock says to the one behind it before it leaves the line. */
const TOOK = 't';
/** Tickets tried when taking a place in line; far more than any real queue. */
const MAX_TICKET_PROBES = 100_000;

/**
 * The address of ticket `n` in the line for `lockAddress`: NUL, the lock prefix, "q/", a 64-bit FNV-1a hash of the
 * lock's address, "/", n, NUL-padded to 108 bytes. Scope segments are `u<uid>` or `sys`, so no lock name maps
 * here, and `list` (which reads only `<prefix><scope>/`) never shows a ticket.
 * @internal
 */
export function ticketAddress(prefix: string, lockAddress: string, n: number | typeof FRONT): string {
  return lineAddresses(prefix, lockAddress)(n);
}

/** `ticketAddress` for one lock, its hash computed once: a newcomer looks at every ticket of the line. @internal */
export function lineAddresses(prefix: string, lockAddress: string): (n: number | typeof FRONT) => string {
  const line = `${prefix}q/${fnv1a64(lockAddress)}/`;
  return (n) => {
    const body = `${line}${n}`;
    return `\0${body}${'\0'.repeat(Math.max(0, 107 - Buffer.byteLength(body)))}`;
  };
}

/**
 * The last segment of the line's front marker: `ticketAddress(prefix, lock, FRONT)` is bound by the waiter at the
 * front of the line (the one that watches the holder itself) and answers its ticket to whoever connects. A waiter
 * that finds it bound does not try the lock first: it queues, so a release is never taken by a newcomer (or by the
 * releaser's own next acquire) while others wait.
 * @internal
 */
export const FRONT = 'front';

/** FNV-1a, 64-bit, in four 16-bit limbs: BigInt arithmetic costs a cold process the better part of a millisecond. */
function fnv1a64(text: string): string {
  // The offset basis 0xcbf29ce484222325, low limb first.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (const byte of Buffer.from(text, 'utf8')) {
    h0 ^= byte;
    // Times the prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64: limb 2 gets h0 << 8 (2^40 = 2^32 * 2^8) and so on.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + (h0 << 8);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, '0')).join('');
}

/**
 * A waiter's place in line: a listening socket at its ticket's address. The waiter behind it connects and
 * waits for that connection to close, which happens when this waiter takes the lock or gives up (or dies:
 * the kernel closes it). So a release wakes one waiter, not all of them, and waiters are served in order.
 * @internal
 */
export class QueueTicket {
  readonly ticket: number;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(ticket: number, server: net.Server) {
    this.ticket = ticket;
    this.#server = server;
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.unref();
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      // A successor only waits for the close; anything it sends is ignored.
      socket.resume();
    });
    server.on('error', () => {});
    server.unref();
  }

  /**
   * Takes a ticket behind the last waiter in line, the line starting after `after`: binding is the test, so two
   * waiters never share one. The first free ticket is not enough: `after` may be a moment old, so the tickets just
   * above it may have been freed by waiters that have since taken the lock, with the rest of the line beyond them.
   * Undefined if no ticket could be bound (the caller then waits on the holder alone, as before).
   */
  static async take(addressOf: (n: number) => string, after: number): Promise<QueueTicket | undefined> {
    const tail = await lastInLine(addressOf, after);
    for (let n = tail + 1; n <= tail + MAX_TICKET_PROBES; n++) {
      const outcome = await listen(addressOf(n));
      if (outcome === 'in-use') continue;
      return outcome === 'failed' ? undefined : new QueueTicket(n, outcome);
    }
    return undefined;
  }

  /**
   * Leaves the line: closes the ticket and hangs up on the waiter behind, which wakes it. With `took`, it first
   * tells that waiter we now hold the lock (one byte), so it can watch us without looking at the line. Idempotent.
   */
  close(took: boolean): void {
    this.#server.close();
    for (const socket of this.#sockets) {
      if (took) socket.end(TOOK);
      else socket.destroy();
    }
    this.#sockets.clear();
  }
}

/**
 * The front marker, bound while this waiter is at the front of the line: it answers our ticket (ASCII digits) to
 * whoever connects, then hangs up. Bound best-effort: when another process has the address, nothing is bound.
 * @internal
 */
export class FrontMarker {
  readonly #server: net.Server;

  private constructor(server: net.Server, ticket: number) {
    this.#server = server;
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.end(String(ticket));
    });
    server.on('error', () => {});
    server.unref();
  }

  /** Binds the marker at `address` saying `ticket`, or undefined when the address is taken or cannot be bound. */
  static async bind(address: string, ticket: number): Promise<FrontMarker | undefined> {
    const outcome = await listen(address);
    return typeof outcome === 'string' ? undefined : new FrontMarker(outcome, ticket);
  }

  /** Unbinds the marker (the fd is closed synchronously, so a successor can bind it at once). */
  close(): void {
    this.#server.close();
  }
}

/** Longest a front marker's answer may take; one that says nothing in time is treated as absent. */
const FRONT_ANSWER_MS = 200;
/** Longest answer a front marker may give: a ticket is a safe integer, at most 16 digits. */
const FRONT_ANSWER_BYTES = 16;

/**
 * The ticket of the waiter at the front of the line, from its marker, or undefined when there is no line (nothing
 * listens there) or the marker does not answer a ticket. The answer is treated as hostile: digits only, bounded.
 * @internal
 */
export async function frontTicket(address: string): Promise<number | undefined> {
  const socket = await connect(address);
  if (socket === undefined) return undefined;
  return new Promise((resolve) => {
    let text = '';
    const done = (ticket: number | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ticket);
    };
    const timer = setTimeout(() => done(undefined), FRONT_ANSWER_MS);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > FRONT_ANSWER_BYTES) done(undefined);
    });
    socket.once('end', () => done(/^\d{1,16}$/u.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined));
    socket.once('close', () => done(undefined));
  });
}

/** Free tickets in a row after which the line is taken to have ended: waiters that left leave short gaps. */
const LINE_END_GAP = 16;

/** The ticket of the last waiter in line after `after` (or `after` itself when nobody waits), found by connecting. */
async function lastInLine(addressOf: (n: number) => string, after: number): Promise<number> {
  let last = after;
  for (let n = after + 1; n <= last + LINE_END_GAP && n <= after + MAX_TICKET_PROBES; n++) {
    const socket = await connect(addressOf(n));
    if (socket === undefined) continue;
    socket.destroy();
    last = n;
  }
  return last;
}

function listen(address: string): Promise<net.Server | 'in-use' | 'failed'> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      server.close();
      resolve(error.code === 'EADDRINUSE' ? 'in-use' : 'failed');
    });
    server.listen({ path: address, exclusive: true }, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}

/**
 * The queue ticket of the lock's holder, from its hello (`queueTicket`), or 0 when it has none (it took the lock
 * without waiting, or predates the queue, or says nothing). Undefined when nothing answers at `address` (the lock
 * may be free).
 * @internal
 */
export async function holderTicket(address: string): Promise<number | undefined> {
  const outcome = await HolderConnection.open(address);
  if (!outcome.ok) return undefined;
  const connection = outcome.connection;
  try {
    const hello = await connection.hello(TICKET_HELLO_MS).catch(() => undefined);
    const ticket = hello?.['queueTicket'];
    return typeof ticket === 'number' && Number.isSafeInteger(ticket) && ticket > 0 ? ticket : 0;
  } finally {
    connection.close();
  }
}

/** How a wait behind the waiter ahead ended, and that waiter's ticket. @internal */
export type PredecessorOutcome = { readonly outcome: 'took' | 'left' | 'stalled'; readonly ticket: number } | { readonly outcome: 'none' };

/**
 * Waits behind the nearest live waiter ahead of `mine` (tickets `mine - 1` down to `head + 1`, except those in
 * `skip`). Resolves 'took' when that waiter left the line holding the lock (the caller watches it), 'left' when it
 * left otherwise (gave up or died: the caller looks at the line again), 'stalled' when the line was stuck behind it,
 * or 'none' at once when nobody is ahead (the caller watches the holder itself). Every `pollIntervalMs` it checks
 * that the line is not stuck behind a waiter that cannot move (a stopped process): only a lock that stays free for
 * `STALL_MS` counts, or a poll during a handoff would jump the line. Rejects with `signal.reason` on abort.
 * @internal
 */
export async function waitForPredecessor(addressOf: (n: number) => string, mine: number, head: number, skip: ReadonlySet<number>, lockAddress: string, pollIntervalMs: number, signal: AbortSignal | undefined): Promise<PredecessorOutcome> {
  for (let n = mine - 1; n > head; n--) {
    signal?.throwIfAborted();
    if (skip.has(n)) continue;
    const socket = await connect(addressOf(n));
    if (socket === undefined) continue;
    let took = false;
    socket.on('data', (chunk: Buffer) => {
      if (chunk.includes(TOOK)) took = true;
    });
    const closed = new Promise<void>((resolve) => {
      socket.once('end', resolve);
      socket.once('close', resolve);
    });
    let stalled = false;
    try {
      for (;;) {
        const woke = await wake(closed, pollIntervalMs, signal);
        if (woke !== 'poll') break;
        stalled = (await isFree(lockAddress)) && (await sleep(STALL_MS), await isFree(lockAddress));
        if (stalled) break;
      }
    } finally {
      socket.destroy();
    }
    signal?.throwIfAborted();
    return { outcome: took ? 'took' : stalled ? 'stalled' : 'left', ticket: n };
  }
  return { outcome: 'none' };
}

/** A plain connection to a ticket, or undefined when nothing listens there. */
function connect(address: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: address, allowHalfOpen: true });
    socket.once('error', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** How long the lock must stay free, with waiters ahead of us, before we stop waiting our turn. */
const STALL_MS = 100;


/** True when nothing listens at `address`: connect is refused. @internal */
export async function isFree(address: string): Promise<boolean> {
  const outcome = await HolderConnection.open(address);
  if (outcome.ok) outcome.connection.close();
  return !outcome.ok && (outcome.code === 'ECONNREFUSED' || outcome.code === 'ENOENT');
}

/** Resolves when `closed` does, `ms` pass, or `signal` aborts, saying which. */
async function wake(closed: Promise<void>, ms: number, signal: AbortSignal | undefined): Promise<'closed' | 'poll' | 'aborted'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise((resolve) => {
      timer = setTimeout(() => resolve('poll'), ms);
      onAbort = (): void => resolve('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      void closed.then(() => resolve('closed'));
    });
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
