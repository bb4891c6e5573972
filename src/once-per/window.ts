import { InvalidOptionError } from '../errors.js';

/** One schedule window: [start, end) in ms since the epoch. */
export interface RunWindow {
  readonly start: number;
  readonly end: number;
}

/** How windows are cut: every `periodMs`, shifted by `offsetMs`, on UTC or on the wall clock of `timeZone`. @internal */
export interface WindowSpec {
  readonly periodMs: number;
  readonly offsetMs: number;
  /** An IANA zone (`Europe/Paris`); undefined means UTC. */
  readonly timeZone: string | undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Checks an IANA time zone name against the runtime's time zone database.
 * @throws InvalidOptionError naming the option.
 * @internal
 */
export function checkTimeZone(timeZone: unknown): string {
  if (typeof timeZone !== 'string' || timeZone === '') throw new InvalidOptionError('The `timeZone` option must be an IANA time zone name such as "Europe/Paris"');
  try {
    zoneFormatter(timeZone);
  } catch (error) {
    throw new InvalidOptionError(`The \`timeZone\` option names an unknown time zone: ${JSON.stringify(timeZone)}`, { cause: error });
  }
  return timeZone;
}

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** How far the wall clock of `timeZone` is ahead of UTC at the instant `utcMs`, in ms (whole seconds). @internal */
export function zoneOffsetMs(utcMs: number, timeZone: string | undefined): number {
  if (timeZone === undefined) return 0;
  const parts: Record<string, number> = {};
  for (const part of zoneFormatter(timeZone).formatToParts(new Date(utcMs))) parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts['year'] ?? 1970, (parts['month'] ?? 1) - 1, parts['day'] ?? 1, parts['hour'] ?? 0, parts['minute'] ?? 0, parts['second'] ?? 0);
  return wall - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/** The UTC instant at which the wall clock of `timeZone` shows `wallMs` (the later one if a DST change repeats it). */
function wallToUtc(wallMs: number, timeZone: string | undefined): number {
  if (timeZone === undefined) return wallMs;
  // Two rounds settle on the offset in force at that instant, also across a DST change.
  let utc = wallMs - zoneOffsetMs(wallMs, timeZone);
  utc = wallMs - zoneOffsetMs(utc, timeZone);
  return utc;
}

/**
 * The window that contains `nowMs`. Windows are aligned to the epoch (1970-01-01T00:00 on the zone's wall clock),
 * then shifted by `offsetMs`: `periodMs` 1 day with `offsetMs` 2h30m cuts windows at 02:30 every day. With a time
 * zone, a window is a span of wall-clock time, so a 1-day window lasts 23 or 25 hours across a DST change.
 * @internal
 */
export function windowAt(nowMs: number, spec: WindowSpec): RunWindow {
  const wall = nowMs + zoneOffsetMs(nowMs, spec.timeZone);
  const index = Math.floor((wall - spec.offsetMs) / spec.periodMs);
  const startWall = index * spec.periodMs + spec.offsetMs;
  return { start: wallToUtc(startWall, spec.timeZone), end: wallToUtc(startWall + spec.periodMs, spec.timeZone) };
}
