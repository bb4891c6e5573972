import type net from 'node:net';
import { HolderConnection } from '../client/holder-connection.js';
import { LockBusyError, RemoteError } from '../errors.js';
import type { Holder } from '../holder/types.js';
import { listenerInode } from '../identity/socket-holders.js';
import { signalSocketHolders } from '../replace/signal-holders.js';
import { bindExclusive } from './socket-lock.js';
import { waitForRelease, type WaitState } from './socket-wait.js';
import type { AcquireRequest } from './types.js';

/** The listening socket's inode, or undefined when /proc cannot tell (unreadable, ambiguous, gone). */
function inodeOf(address: string): Promise<number | undefined> {
  return listenerInode(address).catch(() => undefined);
}

/** After SIGKILL the kernel frees the name as soon as the processes are reaped; allow for a loaded machine. */
const AFTER_KILL_MS = 10_000;
/** How long a holder has to answer a release request (it answers at once, before releasing). */
const RELEASE_ANSWER_MS = 2000;

/** What replacing needs from the backend. @internal */
export interface ReplaceTarget {
  readonly address: string;
  /** Reads the holder, for LockBusyError. */
  readonly describe: () => Promise<Holder | undefined>;
}

/** How far replacing had to go: the lock was free, its holder released it on request, or was SIGTERMed or SIGKILLed. */
export type ReplaceStage = 'free' | 'released' | 'terminated' | 'killed';

/** A bound server and how it was obtained. @internal */
export interface Replaced {
  readonly server: net.Server;
  readonly stage: ReplaceStage;
}

/**
 * Binds `address`, replacing its holder if needed: release request, `graceMs`, SIGTERM to the processes
 * verified to hold the socket, `killAfterMs`, SIGKILL, then bind. Resolves with the bound server.
 * If a third process takes the lock in between, that is not the holder we set out to replace: LockBusyError.
 * @internal
 */
export async function bindReplacing(request: AcquireRequest, target: ReplaceTarget): Promise<Replaced> {
  const { options, signal } = request;
  const { graceMs, killAfterMs } = options.replace ?? { graceMs: 10_000, killAfterMs: 10_000 };
  const { address } = target;
  const first = await bindExclusive(address);
  if (first !== undefined) return { server: first, stage: 'free' };
  let inode = await inodeOf(address);
  const take = async (ms: number): Promise<net.Server | undefined> => {
    const outcome = await takeWithin(address, inode, ms, request);
    if (outcome === 'other') throw new LockBusyError(request.name, await target.describe(), { cause: new Error('another process took the lock while its holder was being replaced') });
    return outcome;
  };

  if (graceMs > 0) {
    const answer = await askToRelease(address, Math.min(graceMs, RELEASE_ANSWER_MS));
    if (answer === 'releasing') {
      const server = await take(graceMs);
      if (server !== undefined) return { server, stage: 'released' };
    }
  }
  signal?.throwIfAborted();
  inode ??= await inodeOf(address);
  if (inode === undefined) {
    const server = await take(0);
    if (server !== undefined) return { server, stage: 'free' };
    throw await busyError(request, target, 'no listening socket holds the name in /proc/net/unix (a socket that never listens, or an ambiguous printed name); nothing was signalled');
  }
  const signalAll = async (which: 'SIGTERM' | 'SIGKILL'): Promise<readonly number[]> => {
    try {
      return (await signalSocketHolders(inode, which)).signalled;
    } catch (error) {
      // EPERM: a holder of another user, which only root may signal.
      throw new LockBusyError(request.name, await target.describe(), { cause: error });
    }
  };
  const term = await signalAll('SIGTERM');
  if (term.length === 0) {
    const server = await take(0);
    if (server !== undefined) return { server, stage: 'free' };
    throw await busyError(request, target, 'no other process could be verified as holding the lock (another user\'s, or this one); nothing was signalled');
  }
  const afterTerm = await take(killAfterMs);
  if (afterTerm !== undefined) return { server: afterTerm, stage: 'terminated' };
  await signalAll('SIGKILL');
  const afterKill = await take(AFTER_KILL_MS);
  if (afterKill !== undefined) return { server: afterKill, stage: 'killed' };
  throw await busyError(request, target, `the holder still held the lock ${AFTER_KILL_MS} ms after SIGKILL`);
}

async function busyError(request: AcquireRequest, target: ReplaceTarget, why: string): Promise<LockBusyError> {
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
 * Tries to bind for up to `ms`, woken by the holder's connections closing. 'other' when a different
 * socket (not `inode`) now holds the name; undefined when time ran out.
 */
async function takeWithin(address: string, inode: number | undefined, ms: number, request: AcquireRequest): Promise<net.Server | 'other' | undefined> {
  const { signal, options } = request;
  const deadline = AbortSignal.timeout(Math.max(1, ms));
  const waitSignal = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
  const state: WaitState = { refusals: 0 };
  for (;;) {
    const server = await bindExclusive(address);
    if (server !== undefined) return server;
    const now = await inodeOf(address);
    if (now !== undefined && inode !== undefined && now !== inode) return 'other';
    if (ms === 0 || deadline.aborted) return undefined;
    try {
      await waitForRelease(address, options.pollIntervalMs, waitSignal, state);
    } catch (error) {
      if (signal?.aborted === true) throw error;
    }
  }
}
