import { NotHeldError, RemoteError } from '../../errors.js';
import type { PeerIdentity } from '../../holder/messages.js';
import type { PendingRerun, RerunReply, RerunRequest, Reruns } from '../../holder/reruns.js';
import type { PgResult } from './driver.js';
import { sqlState } from './holders.js';
import { keyHalves } from './key.js';

/**
 * `coalesce` on postgres: the pending rerun of each lock, and which session accepts triggers for it.
 * `holder_backend_pid` is the coalescing holder's session while it accepts triggers; `closed_by` is set instead in
 * the step in which it finds nothing pending, so a trigger can tell "about to release" from "does not coalesce".
 * @internal
 */
export const RERUNS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS onlyone_reruns (
  key bigint PRIMARY KEY,
  holder_backend_pid integer,
  closed_by integer,
  argv jsonb,
  cwd text,
  env jsonb,
  triggers integer NOT NULL DEFAULT 0,
  requested_at timestamptz
)`;

const THIS_DATABASE = '(SELECT oid FROM pg_database WHERE datname = current_database())';
const LOCK_HOLDER = `(SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = ${THIS_DATABASE} AND l.classid = $2::oid AND l.objid = $3::oid)`;

/** The holder starts accepting triggers (a rerun left pending by a holder that died is kept: it still runs). */
const REGISTER_SQL = `INSERT INTO onlyone_reruns (key, holder_backend_pid, closed_by) VALUES ($1::bigint, pg_backend_pid(), NULL)
ON CONFLICT (key) DO UPDATE SET holder_backend_pid = pg_backend_pid(), closed_by = NULL`;

/** Takes the pending rerun or, when there is none, stops accepting triggers: one statement, under the row lock. */
const TAKE_SQL = `WITH old AS (SELECT argv, cwd, env, triggers FROM onlyone_reruns WHERE key = $1::bigint FOR UPDATE)
UPDATE onlyone_reruns r SET argv = NULL, cwd = NULL, env = NULL, triggers = 0,
  holder_backend_pid = CASE WHEN old.argv IS NULL THEN NULL ELSE pg_backend_pid() END,
  closed_by = CASE WHEN old.argv IS NULL THEN pg_backend_pid() ELSE NULL END
FROM old WHERE r.key = $1::bigint
RETURNING old.argv, old.cwd, old.env, old.triggers`;

/** A trigger joins the pending rerun, only while the session holding the lock is the one accepting triggers. */
const TRIGGER_SQL = `UPDATE onlyone_reruns SET argv = $4::jsonb, cwd = $5, env = $6::jsonb, triggers = triggers + 1, requested_at = clock_timestamp()
WHERE key = $1::bigint AND holder_backend_pid = ${LOCK_HOLDER}
RETURNING triggers`;

/** Why a trigger was not taken: is the lock free, and is its holder the one that just closed? */
const WHY_NOT_SQL = `SELECT ${LOCK_HOLDER} AS holder, (SELECT closed_by FROM onlyone_reruns WHERE key = $1::bigint) AS closed_by`;

/** A statement on some session. @internal */
export type Query = (text: string, values: readonly unknown[]) => Promise<PgResult>;

async function withTable(query: Query, text: string, values: readonly unknown[]): Promise<PgResult> {
  try {
    return await query(text, values);
  } catch (error) {
    if (sqlState(error) !== '42P01') throw error;
  }
  await query(RERUNS_TABLE_SQL, []).catch((error: unknown) => {
    if (sqlState(error) !== '42P07' && sqlState(error) !== '23505') throw error;
  });
  return query(text, values);
}

const SERVER_PEER: PeerIdentity = { pid: undefined, uid: undefined, verified: false };

/**
 * The holder's side, on the lock's own session: starts accepting triggers, then `take()` after each run.
 * @internal
 */
export async function postgresReruns(query: Query, key: bigint): Promise<Reruns> {
  await withTable(query, REGISTER_SQL, [String(key)]);
  let closed = false;
  return {
    async take(): Promise<PendingRerun | undefined> {
      if (closed) return undefined;
      const { rows } = await query(TAKE_SQL, [String(key)]);
      const row = rows[0];
      if (row === undefined || row['argv'] === null || row['argv'] === undefined) {
        closed = true;
        return undefined;
      }
      const argv = Array.isArray(row['argv']) ? row['argv'].filter((arg): arg is string => typeof arg === 'string') : [];
      const env = row['env'] !== null && typeof row['env'] === 'object' ? (row['env'] as Record<string, string>) : undefined;
      return { argv, cwd: typeof row['cwd'] === 'string' ? row['cwd'] : '', env, from: SERVER_PEER, triggers: Number(row['triggers']), settle: () => {} };
    },
    close(): void {
      // Releasing ends the session's hold on the lock: triggers check the lock's holder, so they stop joining.
      closed = true;
    },
  };
}

/**
 * The trigger's side, on a short session: joins the pending rerun of `key`'s coalescing holder.
 * @throws NotHeldError when the lock is free; RemoteError `not_supported` when its holder does not coalesce.
 * @internal
 */
export async function postgresTrigger(query: Query, key: bigint, name: string, request: Omit<RerunRequest, 'from'>): Promise<RerunReply> {
  const { classid, objid } = keyHalves(key);
  const values = [String(key), classid, objid];
  const env = request.env === undefined ? null : JSON.stringify(request.env);
  const { rows } = await withTable(query, TRIGGER_SQL, [...values, JSON.stringify(request.argv), request.cwd, env]);
  if (rows[0] !== undefined) return { accepted: true, triggers: Number(rows[0]['triggers']) };
  const why = (await query(WHY_NOT_SQL, values)).rows[0];
  if (why?.['holder'] === null || why?.['holder'] === undefined) throw new NotHeldError(name);
  if (why['closed_by'] === why['holder']) return { accepted: false };
  throw new RemoteError('not_supported', 'the holder does not coalesce runs (it was not started with coalesce)');
}
