import { BackendError } from '../../errors.js';
import { exitFromText, type RunExit, type RunRecord } from '../../once-per/record.js';
import type { PgResult } from './driver.js';
import { sqlState } from './holders.js';
import type { RunLedger } from '../types.js';

/** The last run of each lock taken with `oncePer`; times are the server's. @internal */
export const RUNS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS onlyone_runs (
  key bigint PRIMARY KEY,
  prefix text NOT NULL,
  name text NOT NULL,
  scope text NOT NULL,
  role text NOT NULL,
  window_start_ms bigint NOT NULL,
  window_end_ms bigint NOT NULL,
  hostname text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  exit text,
  fence bigint
)`;

const RECORD_COLUMNS = `r.name, r.window_start_ms::float8 AS window_start, r.window_end_ms::float8 AS window_end, r.hostname, r.pid,
  (extract(epoch FROM r.started_at) * 1000)::float8 AS started_at, (extract(epoch FROM r.ended_at) * 1000)::float8 AS ended_at,
  r.exit, r.fence::text AS fence`;

/** The server's clock and the last run of key $1. */
const READ_SQL = `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now, ${RECORD_COLUMNS}
FROM (SELECT 1) one LEFT JOIN onlyone_runs r ON r.key = $1::bigint`;

const LAST_SQL = `SELECT ${RECORD_COLUMNS} FROM onlyone_runs r WHERE r.key = $1::bigint`;

const START_SQL = `INSERT INTO onlyone_runs (key, prefix, name, scope, role, window_start_ms, window_end_ms, hostname, pid, started_at, ended_at, exit, fence)
VALUES ($1::bigint, $2, $3, $4, session_user, $5, $6, $7, $8, to_timestamp($9::float8 / 1000), NULL, NULL, $10::bigint)
ON CONFLICT (key) DO UPDATE SET prefix = EXCLUDED.prefix, name = EXCLUDED.name, scope = EXCLUDED.scope, role = EXCLUDED.role,
  window_start_ms = EXCLUDED.window_start_ms, window_end_ms = EXCLUDED.window_end_ms, hostname = EXCLUDED.hostname, pid = EXCLUDED.pid,
  started_at = EXCLUDED.started_at, ended_at = NULL, exit = NULL, fence = EXCLUDED.fence`;

const END_SQL = `UPDATE onlyone_runs SET ended_at = clock_timestamp(), exit = $2
WHERE key = $1::bigint AND window_start_ms = $3 AND pid = $4 AND hostname = $5
RETURNING (extract(epoch FROM ended_at) * 1000)::float8 AS ended_at`;

/** A statement on the lock's own session. @internal */
export type SessionQuery = (text: string, values: readonly unknown[]) => Promise<PgResult>;

/** One row of RECORD_COLUMNS as a RunRecord; undefined for the empty side of READ_SQL's join. @internal */
export function recordFromRow(row: Record<string, unknown> | undefined): RunRecord | undefined {
  if (row === undefined || typeof row['name'] !== 'string') return undefined;
  const number = (value: unknown): number => Math.round(Number(value));
  return {
    name: row['name'],
    window: { start: number(row['window_start']), end: number(row['window_end']) },
    hostname: String(row['hostname']),
    pid: Number(row['pid']),
    startedAt: number(row['started_at']),
    endedAt: row['ended_at'] === null || row['ended_at'] === undefined ? null : number(row['ended_at']),
    exit: exitFromText(typeof row['exit'] === 'string' ? row['exit'] : null),
    fence: typeof row['fence'] === 'string' ? row['fence'] : null,
  };
}

/** Runs `text`, creating the runs table first if it does not exist yet. */
async function withTable(query: SessionQuery, text: string, values: readonly unknown[]): Promise<PgResult> {
  try {
    return await query(text, values);
  } catch (error) {
    if (sqlState(error) !== '42P01') throw wrap(error);
  }
  try {
    await query(RUNS_TABLE_SQL, []);
  } catch (error) {
    // Another session created it at the same moment.
    if (sqlState(error) !== '42P07' && sqlState(error) !== '23505') throw wrap(error);
  }
  try {
    return await query(text, values);
  } catch (error) {
    throw wrap(error);
  }
}

function wrap(error: unknown): unknown {
  if (sqlState(error) === '42501') return new BackendError(`The role may not use the table onlyone_runs, which \`oncePer\` needs: ${(error as Error).message}`, { cause: error });
  return error;
}

/** What the runs of one lock are keyed by. @internal */
export interface RunsKey {
  readonly key: bigint;
  readonly prefix: string;
  readonly name: string;
  readonly scope: string;
}

/**
 * The run records of a postgres lock, written on the lock's own session: a write succeeds only while that session
 * holds the lock, and every time comes from the server's clock (`clock_timestamp()`).
 * @internal
 */
export function postgresLedger(query: SessionQuery, where: RunsKey): RunLedger {
  const key = String(where.key);
  return {
    async read() {
      const { rows } = await withTable(query, READ_SQL, [key]);
      return { now: Number(rows[0]?.['now']), last: recordFromRow(rows[0]) };
    },
    async start(record: RunRecord) {
      const values = [key, where.prefix, where.name, where.scope, record.window.start, record.window.end, record.hostname, record.pid, record.startedAt, record.fence];
      await withTable(query, START_SQL, values);
    },
    async end(record: RunRecord, exit: RunExit) {
      const { rows } = await withTable(query, END_SQL, [key, exit === null ? null : String(exit), record.window.start, record.pid, record.hostname]);
      const endedAt = rows[0]?.['ended_at'];
      return { ...record, endedAt: endedAt === undefined ? null : Math.round(Number(endedAt)), exit };
    },
  };
}

/** The last run of `key`, read on any session. @internal */
export async function readLastRun(query: SessionQuery, key: bigint): Promise<RunRecord | undefined> {
  try {
    const { rows } = await query(LAST_SQL, [String(key)]);
    return recordFromRow(rows[0]);
  } catch (error) {
    if (sqlState(error) === '42P01') return undefined;
    throw wrap(error);
  }
}
