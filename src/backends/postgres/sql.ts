// SQL of the postgres backend, in one place so docs/postgres.md can be checked against it.

/** The table where holders describe themselves. Rows of dead sessions may linger; readers join pg_locks. @internal */
export const HOLDERS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS onlyone_holders (
  key bigint PRIMARY KEY,
  prefix text NOT NULL,
  name text NOT NULL,
  scope text NOT NULL,
  role text NOT NULL,
  pid integer NOT NULL,
  uid integer NOT NULL,
  hostname text NOT NULL,
  argv jsonb NOT NULL,
  cwd text NOT NULL,
  acquired_at timestamptz NOT NULL,
  fence bigint NOT NULL,
  backend_pid integer NOT NULL
)`;

const TRY = 'SELECT pg_try_advisory_lock($1::bigint) AS ok';
const BLOCK = 'SELECT true AS ok FROM pg_advisory_lock($1::bigint)';

/**
 * Takes the lock and, only if that succeeded, a fencing token, in one statement: the subquery runs first, so the
 * transaction id is assigned after the lock is held and no id is spent on a busy lock. $1 is the key.
 * `durable` also writes a transactional WAL message: a transaction that wrote nothing commits without flushing, and
 * after a crash its id would be handed out again (measured: 5 of 5 crash restarts repeated the token without it).
 * @internal
 */
export function lockSql(blocking: boolean, durable: boolean): string {
  const flush = durable ? ", CASE WHEN ok THEN pg_logical_emit_message(true, 'onlyone', 'fence') END AS lsn" : '';
  return `SELECT ok, CASE WHEN ok THEN pg_current_xact_id()::text END AS fence${flush} FROM (${blocking ? BLOCK : TRY} OFFSET 0) l`;
}

/**
 * Like lockSql, and in the same transaction writes the holder's row. That write makes the commit durable, so the
 * token (this transaction's id) cannot be handed out again after a server crash. $2.. are the row's columns.
 * @internal
 */
export function lockAndDescribeSql(blocking: boolean): string {
  return `WITH l AS MATERIALIZED (${blocking ? BLOCK : TRY}),
f AS MATERIALIZED (SELECT ok, CASE WHEN ok THEN pg_current_xact_id() END AS fence FROM l),
w AS (
  INSERT INTO onlyone_holders (key, prefix, name, scope, role, pid, uid, hostname, argv, cwd, acquired_at, fence, backend_pid)
  SELECT $1::bigint, $2, $3, $4, session_user, $5, $6, $7, $8::jsonb, $9, now(), fence::text::bigint, pg_backend_pid() FROM f WHERE ok
  ON CONFLICT (key) DO UPDATE SET prefix = EXCLUDED.prefix, name = EXCLUDED.name, scope = EXCLUDED.scope, role = EXCLUDED.role,
    pid = EXCLUDED.pid, uid = EXCLUDED.uid, hostname = EXCLUDED.hostname, argv = EXCLUDED.argv, cwd = EXCLUDED.cwd,
    acquired_at = EXCLUDED.acquired_at, fence = EXCLUDED.fence, backend_pid = EXCLUDED.backend_pid
)
SELECT ok, fence::text AS fence FROM f`;
}

/** Releases the lock (and removes this session's row). $1 is the key. @internal */
export function unlockSql(table: boolean): string {
  return table
    ? 'WITH d AS (DELETE FROM onlyone_holders WHERE key = $1::bigint AND backend_pid = pg_backend_pid()) SELECT pg_advisory_unlock($1::bigint) AS ok'
    : 'SELECT pg_advisory_unlock($1::bigint) AS ok';
}

const HOLDER_COLUMNS = `l.pid AS backend_pid, a.application_name, h.name, h.scope, h.pid, h.uid, h.hostname, h.argv, h.cwd,
  (extract(epoch FROM h.acquired_at) * 1000)::float8 AS acquired_at, h.fence::text AS fence`;
const THIS_DATABASE = '(SELECT oid FROM pg_database WHERE datname = current_database())';
// A row counts only while its session holds the lock; a row older than its backend is a stale one of a reused pid.
const LIVE_ROW = 'h.backend_pid = l.pid AND (a.backend_start IS NULL OR h.acquired_at >= a.backend_start)';

/** Who holds one key: $1 key, $2 classid, $3 objid (pg_locks shows a bigint key as two 32-bit halves). @internal */
export function holderSql(table: boolean): string {
  return `SELECT ${table ? HOLDER_COLUMNS : 'l.pid AS backend_pid, a.application_name'}
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
${table ? `LEFT JOIN onlyone_holders h ON h.key = $1::bigint AND ${LIVE_ROW}` : ''}
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = ${THIS_DATABASE}
  AND l.classid = $2::oid AND l.objid = $3::oid${table ? '' : ' AND $1::bigint IS NOT NULL'}`;
}

/** Every live holder under a prefix and scope: $1 prefix, $2 scope. @internal */
export const LIST_SQL: string = `SELECT ${HOLDER_COLUMNS}
FROM onlyone_holders h
JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = ${THIS_DATABASE}
  AND l.classid = ((h.key >> 32) & 4294967295)::oid AND l.objid = (h.key & 4294967295)::oid
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE ${LIVE_ROW} AND h.prefix = $1 AND h.scope = $2 AND ($2 = 'system' OR h.role = session_user)
ORDER BY h.name`;
