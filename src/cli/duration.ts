// Durations on the command line: one grammar for every time option, so `-w 5s`, `--grace 2m`, `--restart-delay
// 500ms` and plain seconds (flock's and timeout(1)'s habit) all mean what they say.
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const PART = new RegExp(`(${NUMBER})(ms|s|m|h|d|w)`, 'gu');

/** A duration with units: `500ms`, `5s`, `2m`, `1h`, `1d`, `2h30m`. Such a token is never a lock name. @internal */
export const DURATION_WITH_UNIT: RegExp = new RegExp(`^(?:${NUMBER}(?:ms|s|m|h|d|w))+$`, 'u');

/** What every time option accepts, for messages. @internal */
export const DURATION_FORMS = '500ms, 5s, 2m, 1h, or 1.5 for seconds';

/**
 * Parses a duration: a number of seconds (`90`, `1.5`), or numbers with units `ms`, `s`, `m`, `h`, `d`, `w`
 * (`200ms`, `5s`, `2h30m`, `1d`). Returns whole milliseconds, or undefined when `text` is not a duration.
 * @internal
 */
export function parseDuration(text: string): number | undefined {
  let total = 0;
  if (new RegExp(`^${NUMBER}$`, 'u').test(text)) total = Number(text) * 1000;
  else if (!DURATION_WITH_UNIT.test(text)) return undefined;
  else for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 1000);
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** `parseDuration` in seconds, for options kept in seconds. @internal */
export function durationSeconds(text: string): number | undefined {
  const ms = parseDuration(text);
  return ms === undefined ? undefined : ms / 1000;
}
