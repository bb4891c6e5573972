import type { Holder } from '../../holder/types.js';
import type { PgClient } from './driver.js';
import { keyHalves } from './key.js';
import { holderSql } from './sql.js';

const KIND = 'postgres';
const UNVERIFIED = 'pid, host and command are what the holder wrote; the server confirms only that its session holds the lock';

/** PostgreSQL's error code, when the error came from the server. @internal */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns one row of holderSql or LIST_SQL into a Holder; `fallbackName` when the holder wrote no row. @internal */
export function holderFromRow(row: Record<string, unknown>, fallbackName: string, fallbackScope: string): Holder {
  const appName = typeof row['application_name'] === 'string' ? row['application_name'] : '';
  // Without a row, the holder is known from its application_name, "onlyone <pid>@<host>".
  const fromApp = /^onlyone (\d+)@(.*)$/u.exec(appName);
  const acquiredAt = typeof row['acquired_at'] === 'number' ? Math.round(row['acquired_at']) : 0;
  const argv = Array.isArray(row['argv']) ? row['argv'].filter((arg): arg is string => typeof arg === 'string') : [];
  const fence = row['fence'];
  return {
    name: typeof row['name'] === 'string' ? row['name'] : fallbackName,
    scope: typeof row['scope'] === 'string' ? row['scope'] : fallbackScope,
    pid: typeof row['pid'] === 'number' ? row['pid'] : Number(fromApp?.[1] ?? 0),
    uid: typeof row['uid'] === 'number' ? row['uid'] : -1,
    hostname: typeof row['hostname'] === 'string' ? row['hostname'] : (fromApp?.[2] ?? ''),
    argv,
    cwd: typeof row['cwd'] === 'string' ? row['cwd'] : '',
    acquiredAt,
    heldForMs: acquiredAt === 0 ? 0 : Math.max(0, Date.now() - acquiredAt),
    protocol: 0,
    verified: false,
    unverifiedReason: row['pid'] === undefined || row['pid'] === null ? `the holder wrote no row in onlyone_holders; ${fromApp ? 'pid and host come from its application_name' : 'it is not an onlyone process, or its row is not readable'}` : UNVERIFIED,
    backend: KIND,
    ...(typeof fence === 'string' ? { fence } : {}),
  };
}

/**
 * Reads who holds `key` on an open session. Undefined when nobody does.
 * `table` false (or a missing table) reads pg_locks and pg_stat_activity only.
 * @internal
 */
export async function readHolder(client: PgClient, key: bigint, table: boolean, name: string, scope: string): Promise<Holder | undefined> {
  const { classid, objid } = keyHalves(key);
  const values = [String(key), classid, objid];
  let rows: Array<Record<string, unknown>>;
  try {
    ({ rows } = await client.query(holderSql(table), values));
  } catch (error) {
    // No table, or no right to read it: the server still says which session holds the key.
    if (!table || (sqlState(error) !== '42P01' && sqlState(error) !== '42501')) throw error;
    ({ rows } = await client.query(holderSql(false), values));
  }
  const row = rows[0];
  return row === undefined ? undefined : holderFromRow(row, name, scope);
}
