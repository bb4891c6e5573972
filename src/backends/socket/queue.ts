import net from 'node:net';
import { HolderConnection } from '../../client/holder-connection.js';

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
export function ticketAddress(prefix: string, lockAddress: string, n: number): string {
  const body = `${prefix}q/${fnv1a64(lockAddress)}/${n}`;
  return `\0${body}${'\0'.repeat(Math.max(0, 107 - Buffer.byteLength(body)))}`;
}

function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash.toString(16).padStart(16, '0');
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
   * Takes the first free ticket after `after` (the holder's own ticket): binding is the test, so two waiters never
   * share one. Undefined if no ticket could be bound (the caller then waits on the holder alone, as before).
   */
  static async take(addressOf: (n: number) => string, after: number): Promise<QueueTicket | undefined> {
    for (let n = after + 1; n <= after + MAX_TICKET_PROBES; n++) {
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

/**
 * Waits behind the nearest live waiter ahead of `mine` (tickets `mine - 1` down to `head + 1`). Resolves 'took' when
 * that waiter left the line holding the lock (the caller watches it), 'left' when it left otherwise (gave up, died,
 * or the line was stuck: the caller looks at the line again), or 'none' at once when nobody is ahead (the caller
 * watches the holder itself). Every `pollIntervalMs` it checks that the line is not stuck behind a waiter that cannot
 * move (a stopped process): only a lock that stays free for `STALL_MS` counts, or a poll during a handoff would
 * jump the line. Rejects with `signal.reason` on abort.
 * @internal
 */
export async function waitForPredecessor(addressOf: (n: number) => string, mine: number, head: number, lockAddress: string, pollIntervalMs: number, signal: AbortSignal | undefined): Promise<'took' | 'left' | 'none'> {
  for (let n = mine - 1; n > head; n--) {
    signal?.throwIfAborted();
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
    try {
      for (;;) {
        const woke = await wake(closed, pollIntervalMs, signal);
        if (woke !== 'poll') break;
        if ((await isFree(lockAddress)) && (await sleep(STALL_MS), await isFree(lockAddress))) break;
      }
    } finally {
      socket.destroy();
    }
    signal?.throwIfAborted();
    return took ? 'took' : 'left';
  }
  return 'none';
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
