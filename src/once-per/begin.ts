import { hostname } from 'node:os';
import { AlreadyRanError, InvalidOptionError } from '../errors.js';
import type { NormalizedOptions } from '../options.js';
import type { Backend, BackendLock, RunLedger } from '../backends/types.js';
import { RerunQueue, type Reruns } from '../holder/reruns.js';
import { runFailed, sameWindow, type RunRecord } from './record.js';
import { windowAt } from './window.js';

/**
 * `coalesce`: where this lock's pending rerun lives: in the backend when it keeps reruns itself (postgres), else in
 * this process, served on the holder's socket. On failure the lock is released.
 * @internal
 */
export async function startReruns(backend: Backend, name: string, options: NormalizedOptions, lock: BackendLock): Promise<Reruns | undefined> {
  if (options.reruns === undefined || backend.reruns === undefined) return options.reruns;
  try {
    return await backend.reruns(name, options, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** A run in progress: where its record lives, and the record as started. @internal */
export interface StartedRun {
  readonly ledger: RunLedger;
  readonly record: RunRecord;
}

/** With `coalesce`: the options plus this acquisition's queue of triggers, which the socket holder serves. @internal */
export function withRerunQueue(options: NormalizedOptions): NormalizedOptions {
  if (!options.coalesce) return options;
  return Object.freeze({ ...options, reruns: new RerunQueue(options.onRerunRequest) });
}

/**
 * Refuses `oncePer` on a backend that keeps no records, and `coalesce` on one that cannot pass triggers on,
 * before anything is acquired.
 * @throws InvalidOptionError naming the backends that work.
 * @internal
 */
export function checkOncePer(backend: Backend, options: NormalizedOptions): void {
  if (options.reruns !== undefined) {
    if (!backend.capabilities.messaging && backend.reruns === undefined) throw new InvalidOptionError(`The \`coalesce\` option needs a backend that can pass triggers to the holder, 'abstract', 'lockfile' or 'postgres'; the '${backend.kind}' backend cannot`);
    if (options.slots !== undefined) throw new InvalidOptionError('The `coalesce` and `slots` options cannot be used together');
  }
  if (options.oncePer === undefined) return;
  if (backend.ledger === undefined) {
    throw new InvalidOptionError(`The \`oncePer\` option needs a backend that stores run records, 'lockfile', 'postgres' or 'etcd'; the '${backend.kind}' backend has no storage`);
  }
  for (const option of ['slots', 'replace'] as const) {
    if (options[option] !== undefined) throw new InvalidOptionError(`The \`oncePer\` and \`${option}\` options cannot be used together`);
  }
}

/**
 * With the lock held: reads the backend's clock and the last run, and either records the start of a new run or,
 * when a run has already started in this window (and `retryFailed` does not apply), releases the lock.
 * @throws AlreadyRanError (`ERR_ALREADY_RAN`) when the window is used up; the lock is released first.
 * @throws BackendError when the records cannot be read or written; the lock is released first.
 * @internal
 */
export async function startRun(backend: Backend, name: string, options: NormalizedOptions, lock: BackendLock): Promise<StartedRun | undefined> {
  const spec = options.oncePer;
  if (spec === undefined || backend.ledger === undefined) return undefined;
  try {
    const ledger = await backend.ledger(name, options, lock);
    const { now, last } = await ledger.read();
    const window = windowAt(now, spec);
    if (last !== undefined && sameWindow(last.window, window) && !(spec.retryFailed && runFailed(last))) throw new AlreadyRanError(name, last, window);
    const record: RunRecord = { name, window, hostname: hostname(), pid: process.pid, startedAt: now, endedAt: null, exit: null, fence: lock.fence ?? null };
    await ledger.start(record);
    return { ledger, record };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
