import { sleep } from '../../sleep.js';
import { HolderConnection, type ConnectOutcome } from '../../client/holder-connection.js';
import { RemoteError } from '../../errors.js';

/** Refusals retried at once before backing off: covers the instant between a holder's death and its name's release. */
const FAST_RETRIES = 3;

/** Per-wait state, so repeated refusals back off instead of spinning. @internal */
export interface WaitState {
  refusals: number;
}

/**
 * Waits until the lock at `address` is worth trying again, without polling: it connects to the holder and
 * waits for the connection to close, which happens the instant the holder releases or dies.
 * Races are handled by the caller's retry loop: ECONNREFUSED/ENOENT/ECONNRESET mean "try to bind now", EAGAIN (a full
 * backlog) and a holder turning us away mean "back off". A slow safety re-check runs every `pollIntervalMs`.
 * Rejects with `signal.reason` when the signal aborts.
 * @internal
 */
export async function waitForRelease(
  address: string,
  pollIntervalMs: number,
  signal: AbortSignal | undefined,
  state: WaitState,
  /** Runs once connected, alongside the wait (e.g. the squatting check); if it rejects, so does the wait. */
  inspect?: (connection: HolderConnection) => Promise<void>,
): Promise<void> {
  signal?.throwIfAborted();
  const outcome = await connectUnlessAborted(address, signal);
  if (!outcome.ok) {
    // ECONNRESET: we connected to a dead holder's listener while the kernel was still closing it.
    if (outcome.code === 'ECONNREFUSED' || outcome.code === 'ENOENT' || outcome.code === 'ECONNRESET') {
      state.refusals++;
      if (state.refusals <= FAST_RETRIES) return;
    }
    await sleep(backoff(state.refusals++, pollIntervalMs), signal);
    return;
  }
  const connection = outcome.connection;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    // The inspection runs while we already wait: a close still wakes us at once, and only its failure ends the wait.
    const inspection = inspect?.(connection);
    // Plain timers and listeners rather than an abortable sleep: this is the path between the holder's death
    // and our bind, and creating an AbortError costs about a millisecond in a cold process.
    const closedBy = await new Promise<'closed' | 'poll' | 'aborted'>((resolve, reject) => {
      timer = setTimeout(() => resolve('poll'), pollIntervalMs);
      onAbort = (): void => resolve('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      // A deadline that passed while we connected fires no event any more: without this, only the poll would see it.
      if (signal?.aborted === true) resolve('aborted');
      void connection.closed.then(() => resolve('closed'));
      inspection?.catch(reject);
    });
    // The safety poll fired first: the holder is still there, so the inspection's verdict still matters.
    if (closedBy !== 'closed') await inspection;
    if (closedBy === 'closed') {
      const failure = await connection.hello(1).then(
        () => undefined,
        (error: unknown) => error,
      );
      // A holder at its connection cap says "busy" and hangs up: that is no release.
      if (failure instanceof RemoteError && failure.remoteCode === 'busy') {
        await sleep(backoff(++state.refusals, pollIntervalMs), signal).catch(() => {});
      } else if (connection.helloFrame === undefined) {
        // Closed before a word: a holder out of descriptors accepts and drops at once (libuv's EMFILE trick), and
        // so does one that is going away. Retry at once a few times, then back off as for a full backlog.
        if (++state.refusals > FAST_RETRIES) await sleep(backoff(state.refusals, pollIntervalMs), signal).catch(() => {});
      } else {
        state.refusals = 0;
      }
    }
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    // Closed after the caller's bind attempt (listen() binds synchronously): destroying a socket costs about
    // half a millisecond in a cold process.
    setImmediate(() => connection.close());
  }
  signal?.throwIfAborted();
}

/**
 * Connects to `address`, or rejects with `signal.reason` as soon as the signal aborts, even mid-connect (a
 * timeout must be honoured at its deadline, not at the next safety poll). A connection that completes after
 * the abort is closed.
 */
async function connectUnlessAborted(address: string, signal: AbortSignal | undefined): Promise<ConnectOutcome> {
  const opening = HolderConnection.open(address);
  if (signal === undefined) return opening;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([opening, aborted]);
  } catch (error) {
    void opening.then((late) => late.ok && late.connection.close(), () => {});
    throw error;
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/** Exponential backoff from 1 ms up to `cap`, with jitter so waiters do not retry in lockstep. */
function backoff(attempt: number, cap: number): number {
  const base = Math.min(cap, 2 ** Math.min(attempt, 20));
  return base / 2 + Math.random() * (base / 2);
}

/**
 * Waits until any of `addresses` is worth trying again: one connection per address, all at once, and the
 * first to close (or to be refused) wins; the others are then closed. Used to wait on every slot.
 * Rejects with `signal.reason` when the signal aborts.
 * @internal
 */
export async function waitForAnyRelease(addresses: readonly string[], pollIntervalMs: number, signal: AbortSignal | undefined, state: WaitState): Promise<void> {
  if (addresses.length === 1 && addresses[0] !== undefined) return waitForRelease(addresses[0], pollIntervalMs, signal, state);
  const done = new AbortController();
  const inner = signal === undefined ? done.signal : AbortSignal.any([signal, done.signal]);
  try {
    // Promise.race subscribes to every wait, so the ones aborted after the winner reject unobserved-free.
    await Promise.race(addresses.map((address) => waitForRelease(address, pollIntervalMs, inner, state)));
  } finally {
    done.abort();
  }
  signal?.throwIfAborted();
}
