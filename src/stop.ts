import { backendFor } from './backends/registry.js';
import type { StopStage } from './backends/types.js';
import { InvalidOptionError } from './errors.js';
import { normalizeOptions, type LockOptions, type ReplaceOptions } from './options.js';

/** Options of `stop()`. */
export interface StopOptions extends LockOptions, ReplaceOptions {
  /** Aborting it stops escalating; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** How `stop()` ended: nobody held the lock, or its holder released on request, or was SIGTERMed, or SIGKILLed. */
export type StopOutcome = StopStage;

/**
 * Stops the instance holding `name`, as `acquire(name, { replace })` would, without keeping the lock: a
 * release request, `graceMs` (default 10 s), SIGTERM to the processes verified to hold the lock's socket
 * (on `lockfile`, its socket or its flock; never any other), `killAfterMs` (default `graceMs`), SIGKILL.
 * The lock is taken for an instant at the end, to be sure it is free, then released. A holder with a uid
 * other than `expectedUid` (or, in user scope, than ours) is never asked nor signalled.
 *
 * @example
 * ```ts
 * const how = await stop('indexer', { graceMs: 5000 }); // 'not-held' | 'released' | 'terminated' | 'killed'
 * ```
 * @throws LockBusyError (`ERR_LOCK_BUSY`) when no process could be verified as the holder (nothing is
 * signalled then), when another process takes the lock meanwhile, or when the holder survives SIGKILL.
 * @throws LockSquattedError (`ERR_LOCK_SQUATTED`) when the holder's uid is not the one required, or, with
 * `expectedUid`, cannot be confirmed: nothing is sent or signalled.
 * @throws OsError (`ERR_OS`) when the system refuses the lookup (out of descriptors).
 * @throws InvalidLockNameError, InvalidOptionError (a backend that cannot stop, such as `postgres`), UnsupportedError.
 */
export async function stop(name: string, options?: StopOptions): Promise<StopOutcome> {
  const { graceMs, killAfterMs, signal, ...lock } = options ?? {};
  const replace = { ...(graceMs === undefined ? {} : { graceMs }), ...(killAfterMs === undefined ? {} : { killAfterMs }) };
  const normalized = normalizeOptions({ ...lock, replace, ...(signal === undefined ? {} : { signal }) });
  const backend = backendFor(normalized);
  if (backend.stop === undefined) throw new InvalidOptionError(`The \`backend\` option '${normalized.backend}' does not support stop`);
  return backend.stop({ name, options: normalized, signal: normalized.signal, describeHolder: true });
}
