import type { RunWindow } from './window.js';

/** How a recorded run ended: an exit status, a signal name, `lost` (the lock was lost), or null while it runs. */
export type RunExit = number | string | null;

/** The record of one run taken with `oncePer`, kept by the backend (the last run of each lock). */
export interface RunRecord {
  /** Lock name. */
  readonly name: string;
  /** The window the run belongs to, on the backend's clock. */
  readonly window: RunWindow;
  /** Host and pid of the process that took the lock. */
  readonly hostname: string;
  readonly pid: number;
  /** When the run started and ended, in ms since the epoch, on the backend's clock; `endedAt` null while running, or if the run never reported its end (it crashed or lost the lock). */
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** See RunExit. A record whose `endedAt` is null and whose lock is free belongs to a run that crashed or lost its lock. */
  readonly exit: RunExit;
  /** The lock's fencing token, on backends that have one. */
  readonly fence: string | null;
}

/**
 * Whether a run failed: it ended with a status other than 0, was killed by a signal, lost its lock, or never
 * recorded its end (its process crashed). Only meaningful once the lock is free again.
 * @internal
 */
export function runFailed(record: RunRecord): boolean {
  return record.endedAt === null || record.exit !== 0;
}

/** Whether two windows are the same one. @internal */
export function sameWindow(a: RunWindow, b: RunWindow): boolean {
  return a.start === b.start && a.end === b.end;
}

/**
 * Reads a record back from its JSON form, refusing anything malformed (a damaged record must not read as "never
 * ran"). Returns undefined when `value` is not a record.
 * @internal
 */
export function parseRecord(value: unknown): RunRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const window = r['window'] as Record<string, unknown> | undefined;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (typeof r['name'] !== 'string' || typeof window !== 'object' || window === null || !finite(window['start']) || !finite(window['end'])) return undefined;
  if (typeof r['hostname'] !== 'string' || !finite(r['pid']) || !finite(r['startedAt'])) return undefined;
  const endedAt = r['endedAt'] === null || finite(r['endedAt']) ? r['endedAt'] : undefined;
  const exit = r['exit'] === null || finite(r['exit']) || typeof r['exit'] === 'string' ? r['exit'] : undefined;
  const fence = r['fence'] === null || typeof r['fence'] === 'string' ? r['fence'] : undefined;
  if (endedAt === undefined || exit === undefined || fence === undefined) return undefined;
  return { name: r['name'], window: { start: window['start'], end: window['end'] }, hostname: r['hostname'], pid: r['pid'], startedAt: r['startedAt'], endedAt, exit, fence };
}

/** The exit stored as text (postgres) read back: digits are a status, anything else a signal name or `lost`. @internal */
export function exitFromText(text: string | null): RunExit {
  if (text === null) return null;
  return /^\d{1,3}$/u.test(text) ? Number(text) : text;
}
