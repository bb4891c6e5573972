import { HolderConnection } from '../../client/holder-connection.js';
import { LockBusyError, OsError, RemoteError } from '../../errors.js';
import type { Holder } from '../../holder/types.js';
import { assertMayActOn, requiredUid } from '../../identity/squatting.js';
import { waitForRelease, type WaitState } from './wait.js';
import type { AcquireRequest } from '../types.js';

/** After SIGKILL the kernel frees the lock as soon as the processes are reaped; allow for a loaded machine. */
const AFTER_KILL_MS = 10_000;
/** How long a holder has to answer a release request (it answers at once, before releasing). */
const RELEASE_ANSWER_MS = 2000;

/** How far replacing had to go: the lock was free, its holder released it on request, or was SIGTERMed or SIGKILLed. */
export type ReplaceStage = 'free' | 'released' | 'terminated' | 'killed';

/** The holder replacing set out to stop, as /proc showed it when it was identified. @internal */
export interface HolderToReplace {
  /** True when another holder now holds the lock: a third process took it in between. */
  readonly supplanted: () => Promise<boolean>;
  /**
   * Sends `which` to every process verified to hold the lock as identified (never to another, nor to this
   * process) and resolves with their pids.
   * @throws Error with code EPERM when a holder belongs to another user.
   */
  readonly signal: (which: 'SIGTERM' | 'SIGKILL') => Promise<readonly number[]>;
}

/** What replacing needs from a backend. `T` is what taking the lock yields (a bound server, a lock). @internal */
export interface ReplaceTarget<T> {
  /** The holder's socket: the release request goes there, and waiting watches its connections close. */
  readonly address: string;
  /** Reads the holder, for LockBusyError. */
  readonly describe: () => Promise<Holder | undefined>;
  /** Tries once to take the lock; undefined while someone holds it. */
  readonly take: () => Promise<T | undefined>;
  /** Identifies the current holder through /proc; undefined when /proc shows nothing that could be signalled. */
  readonly identify: () => Promise<HolderToReplace | undefined>;
  /** Why `identify` can come back empty, for the LockBusyError that says nothing was signalled. */
  readonly unidentified: string;
}

/** What was taken and how. @internal */
export interface Replacement<T> {
  readonly taken: T;
  readonly stage: ReplaceStage;
}

/**
 * Takes the lock, replacing its holder if needed: release request, `graceMs`, SIGTERM to the processes
 * verified to hold the lock, `killAfterMs`, SIGKILL, then take it. If a third process takes the lock in
 * between, that is not the holder we set out to replace: LockBusyError.
 * @throws LockBusyError when no process could be verified as the holder (nothing is signalled then), when a
 * third process took the lock, or when the holder survives SIGKILL; `signal.reason` when it aborts.
 * @internal
 */
export async function replaceHolder<T>(request: AcquireRequest, target: ReplaceTarget<T>): Promise<Replacement<T>> {
  const { options, signal } = request;
  const { graceMs, killAfterMs } = options.replace ?? { graceMs: 10_000, killAfterMs: 10_000 };
  const first = await target.take();
  if (first !== undefined) return { taken: first, stage: 'free' };
  // Never ask nor signal a holder of another uid than the one required (expectedUid, or ours in user scope).
  if (requiredUid(options) !== undefined) assertMayActOn(request.name, await target.describe(), options);
  let holder = await target.identify();
  const take = async (ms: number): Promise<T | undefined> => {
    const outcome = await takeWithin(target, holder, ms, request);
    if (outcome === 'other') throw new LockBusyError(request.name, await target.describe(), { cause: new Error('another process took the lock while its holder was being replaced') });
    return outcome?.taken;
  };

  if (graceMs > 0) {
    const answer = await askToRelease(target.address, Math.min(graceMs, RELEASE_ANSWER_MS));
    if (answer === 'releasing') {
      const taken = await take(graceMs);
      if (taken !== undefined) return { taken, stage: 'released' };
    }
  }
  signal?.throwIfAborted();
  holder ??= await target.identify();
  if (holder === undefined) {
    const taken = await take(0);
    if (taken !== undefined) return { taken, stage: 'free' };
    throw await busyError(request, target, `${target.unidentified}; nothing was signalled`);
  }
  const identified = holder;
  const signalAll = async (which: 'SIGTERM' | 'SIGKILL'): Promise<readonly number[]> => {
    try {
      return await identified.signal(which);
    } catch (error) {
      // EPERM: a holder of another user, which only root may signal.
      throw new LockBusyError(request.name, await target.describe(), { cause: error });
    }
  };
  const term = await signalAll('SIGTERM');
  if (term.length === 0) {
    const taken = await take(0);
    if (taken !== undefined) return { taken, stage: 'free' };
    throw await busyError(request, target, 'no other process could be verified as holding the lock (another user\'s, or this one); nothing was signalled');
  }
  const afterTerm = await take(killAfterMs);
  if (afterTerm !== undefined) return { taken: afterTerm, stage: 'terminated' };
  await signalAll('SIGKILL');
  const afterKill = await take(AFTER_KILL_MS);
  if (afterKill !== undefined) return { taken: afterKill, stage: 'killed' };
  throw await busyError(request, target, `the holder still held the lock ${AFTER_KILL_MS} ms after SIGKILL`);
}

async function busyError(request: AcquireRequest, target: ReplaceTarget<unknown>, why: string): Promise<LockBusyError> {
  return new LockBusyError(request.name, await target.describe(), { cause: new Error(why) });
}

/** Asks the holder to release. Resolves with 'releasing', the holder's error code, or 'no_answer'. */
async function askToRelease(address: string, timeoutMs: number): Promise<string> {
  const outcome = await HolderConnection.open(address);
  if (!outcome.ok) return 'no_answer';
  try {
    const answer = await outcome.connection.request({ type: 'release' }, timeoutMs);
    return answer.type === 'releasing' ? 'releasing' : 'no_answer';
  } catch (error) {
    return error instanceof RemoteError ? error.remoteCode : 'no_answer';
  } finally {
    outcome.connection.close();
  }
}

/**
 * Tries to take the lock for up to `ms`, woken by the holder's connections closing. 'other' when a
 * different holder than `holder` now has it; undefined when time ran out.
 */
async function takeWithin<T>(target: ReplaceTarget<T>, holder: HolderToReplace | undefined, ms: number, request: AcquireRequest): Promise<{ taken: T } | 'other' | undefined> {
  const { signal, options } = request;
  const deadline = AbortSignal.timeout(Math.max(1, ms));
  const waitSignal = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
  const state: WaitState = { refusals: 0 };
  for (;;) {
    const taken = await target.take();
    if (taken !== undefined) return { taken };
    if (holder !== undefined && (await holder.supplanted())) return 'other';
    if (ms === 0 || deadline.aborted) return undefined;
    try {
      await waitForRelease(target.address, options.pollIntervalMs, waitSignal, state);
    } catch (error) {
      if (signal?.aborted === true || error instanceof OsError) throw error;
    }
  }
}
