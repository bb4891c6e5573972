/** Seconds per unit of a duration written on the command line; no unit means seconds. */
const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `500ms`, `5s`, `1.5m`, `2h`, `30`, `.5`: a non-negative number with an optional unit. @internal */
export const DURATION: RegExp = /^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)?$/u;

/** The same, with the unit required: a token of this shape is never a lock name. @internal */
export const DURATION_WITH_UNIT: RegExp = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ms|s|m|h)$/u;

/** What every time option accepts, for messages and help. @internal */
export const DURATION_FORMS = '500ms, 5s, 2m, 1h, or 1.5 for seconds';

/**
 * The number of seconds a duration stands for, or undefined when `text` is not one. flock(1) and timeout(1)
 * take plain seconds; systemd and most people write units: both are accepted.
 * @internal
 */
export function durationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
  return Number.isFinite(seconds) ? seconds : undefined;
}
