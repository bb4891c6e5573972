import { InvalidOptionError } from '../errors.js';
import type { PendingRerun, RerunQueue } from '../holder/reruns.js';
import { checkTimeZone, type WindowSpec } from './window.js';

/** Options of `acquire` that limit how often a job runs: schedule windows, a minimum hold, coalesced triggers. */
export interface ScheduleOptions {
  /**
   * At most one run *started* per window of this many ms, across every process that shares the backend
   * (`lockfile`, `postgres`). Windows are cut on the backend's clock (the database server's, the file system's),
   * never on this host's. When a run has already started in the current window, acquire releases the lock and
   * throws AlreadyRanError (`ERR_ALREADY_RAN`).
   */
  readonly oncePer?: number;
  /** Shifts the windows of `oncePer` from the epoch: `oncePer` 1 day with `windowOffsetMs` 2h30m starts windows at 02:30. */
  readonly windowOffsetMs?: number;
  /** Cut the windows of `oncePer` on the wall clock of this IANA time zone (`Europe/Paris`) instead of UTC. */
  readonly timeZone?: string;
  /** With `oncePer`: a run that failed (non-zero exit, signal, crash, lost lock) does not use up its window. */
  readonly retryFailed?: boolean;
  /** Keep the lock at least this many ms after it was taken: `release()` waits that long (ShedLock's `lockAtLeastFor`). */
  readonly minHoldMs?: number;
  /**
   * Accept triggers while holding (`abstract`, `lockfile`): another process's `requestRerun()` (or
   * `onlyone run --coalesce`) asks for one more run instead of failing. Any number of triggers during a run become
   * one rerun with the latest trigger's command; take it with `lock.takeRerun()` when the run ends.
   */
  readonly coalesce?: boolean;
  /** With `coalesce`: told about each trigger, with the rerun as it stands (the latest command, the count so far). */
  readonly onRerunRequest?: (pending: PendingRerun) => void;
}

/** The schedule options after validation. @internal */
export interface NormalizedScheduleOptions {
  readonly oncePer: (WindowSpec & { readonly retryFailed: boolean }) | undefined;
  readonly minHoldMs: number | undefined;
  readonly coalesce: boolean;
  readonly onRerunRequest: ((pending: PendingRerun) => void) | undefined;
  /** With `coalesce`: this acquisition's queue of triggers, added by acquire once it has loaded it. */
  readonly reruns: RerunQueue | undefined;
}

/**
 * Validates the schedule options, naming the option in any error.
 * @throws InvalidOptionError
 * @internal
 */
export function normalizeScheduleOptions(options: ScheduleOptions): NormalizedScheduleOptions {
  const { oncePer, windowOffsetMs, timeZone, retryFailed, minHoldMs, coalesce, onRerunRequest } = options;
  if (coalesce !== undefined && typeof coalesce !== 'boolean') throw new InvalidOptionError(`The \`coalesce\` option must be a boolean, got ${typeof coalesce}`);
  if (onRerunRequest !== undefined && typeof onRerunRequest !== 'function') throw new InvalidOptionError('The `onRerunRequest` option must be a function');
  if (onRerunRequest !== undefined && coalesce !== true) throw new InvalidOptionError('The `onRerunRequest` option needs the `coalesce` option');
  if (oncePer === undefined && (windowOffsetMs !== undefined || timeZone !== undefined || retryFailed !== undefined)) {
    const name = windowOffsetMs !== undefined ? 'windowOffsetMs' : timeZone !== undefined ? 'timeZone' : 'retryFailed';
    throw new InvalidOptionError(`The \`${name}\` option needs the \`oncePer\` option`);
  }
  if (retryFailed !== undefined && typeof retryFailed !== 'boolean') throw new InvalidOptionError(`The \`retryFailed\` option must be a boolean, got ${typeof retryFailed}`);
  const period = oncePer === undefined ? undefined : integer('oncePer', oncePer, 1);
  return {
    oncePer:
      period === undefined
        ? undefined
        : Object.freeze({
            periodMs: period,
            offsetMs: windowOffsetMs === undefined ? 0 : integer('windowOffsetMs', windowOffsetMs, 0),
            timeZone: timeZone === undefined ? undefined : checkTimeZone(timeZone),
            retryFailed: retryFailed === true,
          }),
    minHoldMs: minHoldMs === undefined ? undefined : atMost('minHoldMs', integer('minHoldMs', minHoldMs, 0), MAX_TIMER_MS),
    coalesce: coalesce === true,
    onRerunRequest,
    reruns: undefined,
  };
}

/** setTimeout's limit: a longer hold would end at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function atMost(name: string, value: number, max: number): number {
  if (value > max) throw new InvalidOptionError(`The \`${name}\` option must be at most ${max} ms (about 24.8 days), got ${value}`);
  return value;
}

function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(`The \`${name}\` option must be an integer number of ms >= ${min}, got ${String(value)}`);
  }
  return value;
}
