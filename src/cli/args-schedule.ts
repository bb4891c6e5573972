import type { Options, Values } from './arg-values.js';
import { parseDuration } from './duration.js';
import { UsageError } from './parsed.js';

/** `run`'s options that limit how often the command runs. @internal */
export const SCHEDULE_OPTIONS: Options = {
  'once-per': { type: 'string' },
  offset: { type: 'string' },
  tz: { type: 'string' },
  'retry-failed': { type: 'boolean' },
  'min-hold': { type: 'string' },
  coalesce: { type: 'boolean' },
  'pass-env': { type: 'boolean' },
};

/** What `run --once-per/--min-hold/--coalesce` asked for. @internal */
export interface ScheduleArgs {
  readonly oncePerMs: number | undefined;
  readonly offsetMs: number | undefined;
  readonly timeZone: string | undefined;
  readonly retryFailed: boolean;
  readonly minHoldMs: number | undefined;
  /** When the lock is held by a --coalesce run, ask it to run once more instead of failing. */
  readonly coalesce: boolean;
  /** With --coalesce: the rerun gets this trigger's environment. */
  readonly passEnv: boolean;
}

function duration(values: Values, option: string): number | undefined {
  const value = values[option];
  if (typeof value !== 'string') return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--${option} takes a duration such as 90, 30s, 5m, 2h30m or 1d, got '${value}'`, 'run');
  return ms;
}

/**
 * Reads the schedule options of `run`, refusing combinations that cannot mean anything.
 * @throws UsageError
 * @internal
 */
export function scheduleArgs(values: Values): ScheduleArgs {
  const oncePerMs = duration(values, 'once-per');
  if (oncePerMs === 0) throw new UsageError('--once-per takes a duration greater than 0', 'run');
  const offsetMs = duration(values, 'offset');
  const timeZone = typeof values['tz'] === 'string' ? values['tz'] : undefined;
  const retryFailed = values['retry-failed'] === true;
  if (oncePerMs === undefined) {
    const orphan = [offsetMs !== undefined && '--offset', timeZone !== undefined && '--tz', retryFailed && '--retry-failed'].find(Boolean);
    if (typeof orphan === 'string') throw new UsageError(`${orphan} needs --once-per`, 'run');
  }
  const coalesce = values['coalesce'] === true;
  const passEnv = values['pass-env'] === true;
  if (passEnv && !coalesce) throw new UsageError('--pass-env needs --coalesce', 'run');
  if (coalesce && values['timeout'] !== undefined) throw new UsageError('--coalesce --wait waits for the rerun, without a time limit: --wait takes no SECONDS with --coalesce', 'run');
  if (coalesce && values['wait'] === true && /^postgres(?:ql)?(?::\/\/|$)/iu.test(String(values['backend'] ?? ''))) {
    throw new UsageError('--coalesce --wait needs a backend whose holder answers on a socket (abstract, lockfile); on postgres the rerun is queued in the database', 'run');
  }
  if (coalesce && oncePerMs !== undefined) throw new UsageError('--coalesce and --once-per cannot be used together', 'run');
  const loop = ['keep-running', 'until-success', 'until-failure', 'replace', 'slots', 'forward'].find((option) => values[option] !== undefined && values[option] !== false);
  if (loop !== undefined && (oncePerMs !== undefined || coalesce)) throw new UsageError(`--${oncePerMs === undefined ? 'coalesce' : 'once-per'} and --${loop} cannot be used together`, 'run');
  return { oncePerMs, offsetMs, timeZone, retryFailed, minHoldMs: duration(values, 'min-hold'), coalesce, passEnv };
}
