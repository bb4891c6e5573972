import type { AcquireOptions, RunRecord } from '../index.js';
import type { ScheduleArgs } from './args-schedule.js';
import { printable } from './format.js';

/** The library options for `run`'s --once-per, --offset, --tz, --retry-failed, --min-hold and --coalesce. @internal */
export function scheduleOptions(schedule: ScheduleArgs): AcquireOptions {
  const { oncePerMs, offsetMs, timeZone, retryFailed, minHoldMs, coalesce } = schedule;
  return {
    // --coalesce: never wait for the lock; with --wait a trigger waits for its rerun instead.
    ...(coalesce ? { coalesce: true, wait: false } : {}),
    ...(oncePerMs === undefined ? {} : { oncePer: oncePerMs, retryFailed }),
    ...(offsetMs === undefined ? {} : { windowOffsetMs: offsetMs }),
    ...(timeZone === undefined ? {} : { timeZone }),
    ...(minHoldMs === undefined ? {} : { minHoldMs }),
  };
}

/** `02:30:04 UTC`, or the wall time in `timeZone`, with the date when `withDate`. @internal */
export function clockTime(ms: number, timeZone: string | undefined, withDate = false): string {
  const zone = timeZone ?? 'UTC';
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    ...(withDate ? { year: 'numeric', month: '2-digit', day: '2-digit' } : {}),
  });
  return `${format.format(new Date(ms)).replace(', ', ' ')} ${zone}`;
}

/** `exit 0`, `killed by SIGTERM`, `lost its lock`, `no recorded end (it crashed or lost its lock)`. @internal */
export function exitText(record: RunRecord, lockFree: boolean): string {
  if (record.endedAt === null) return lockFree ? 'no recorded end (it crashed or lost its lock)' : 'still running';
  if (typeof record.exit === 'number') return `exit ${record.exit}`;
  if (record.exit === 'lost') return 'lost its lock';
  return record.exit === null ? 'exit unknown' : `killed by ${printable(record.exit)}`;
}

/** The one-line refusal when the window is used up. @internal */
export function alreadyRanText(name: string, record: RunRecord, timeZone: string | undefined): string {
  const where = `${printable(record.hostname)} (pid ${record.pid})`;
  return `onlyone: ${printable(name)} already ran in this window: started ${clockTime(record.startedAt, timeZone)} on ${where}, ${exitText(record, true)}\n`;
}

/** `status`: the last run, in the style of statusText's lines. @internal */
export function lastRunText(record: RunRecord, lockFree: boolean): string {
  const lines = [
    `  last run: started ${clockTime(record.startedAt, undefined, true)} on ${printable(record.hostname)} (pid ${record.pid}), ${exitText(record, lockFree)}`,
    `  window:   ${clockTime(record.window.start, undefined, true)} to ${clockTime(record.window.end, undefined, true)}`,
  ];
  if (record.endedAt !== null) lines.push(`  ended:    ${clockTime(record.endedAt, undefined, true)}`);
  return `${lines.join('\n')}\n`;
}

/** The last run as JSON for `status --json`; every key is always present. @internal */
export function lastRunJson(record: RunRecord): Record<string, unknown> {
  return {
    window: { start: new Date(record.window.start).toISOString(), end: new Date(record.window.end).toISOString() },
    hostname: record.hostname,
    pid: record.pid,
    startedAt: new Date(record.startedAt).toISOString(),
    endedAt: record.endedAt === null ? null : new Date(record.endedAt).toISOString(),
    exit: record.exit,
    fence: record.fence,
  };
}
