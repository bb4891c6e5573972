import { hostname } from 'node:os';
import { monotonicMs } from '../../monotonic.js';
import { checkText } from '../../address.js';
import { BackendError, InvalidOptionError, LockBusyError, LockTimeoutError, OnlyoneError } from '../../errors.js';
import type { Holder } from '../../holder/types.js';
import type { NormalizedOptions } from '../../options.js';
import { sendCancel } from './cancel.js';
import type { PgClient } from './driver.js';
import { holderFromRow, readHolder, sqlState } from './holders.js';
import { postgresLockKey } from './key.js';
import { PostgresLock } from './lock.js';
import { postgresReruns, postgresTrigger } from './reruns.js';
import { postgresLedger, readLastRun } from './runs.js';
import { openSession } from './session.js';
import { HOLDERS_TABLE_SQL, LIST_SQL, lockAndDescribeSql, lockSql } from './sql.js';
import type { RunRecord } from '../../once-per/record.js';
import type { RerunReply, RerunRequest, Reruns } from '../../holder/reruns.js';
import type { AcquireRequest, Backend, BackendLock, RunLedger } from '../types.js';

const KIND = 'postgres';
/**
 * How the lock statement makes its fence durable and describes the holder, per server, learnt on first use:
 * `table` writes the holder row; `message` (the role may not write the table) writes a WAL message instead;
 * `plain` (not even that is allowed) writes nothing, and a crash may repeat the last tokens.
 */
type Mode = 'table' | 'message' | 'plain';
const modes = new Map<string, Mode>();

interface Attempt {
  readonly ok: boolean;
  readonly fence: string;
  readonly table: boolean;
  readonly sentAt: number;
}

function serverKey(options: NormalizedOptions): string {
  return options.url ?? `env:${process.env['PGHOST'] ?? ''}:${process.env['PGPORT'] ?? ''}/${process.env['PGDATABASE'] ?? ''}`;
}

/** Creates the holders table; false when this role may not (then holders are known from application_name only). */
async function createTable(client: PgClient): Promise<boolean> {
  try {
    await client.query(HOLDERS_TABLE_SQL);
    return true;
  } catch (error) {
    const state = sqlState(error);
    if (state === '42P07' || state === '23505') return true; // another session created it at the same moment
    if (state === '42501' || state === '25006') return false;
    throw error;
  }
}

/** Whether holders are described in onlyone_holders on this server (assumed until learnt otherwise). */
function hasTable(options: NormalizedOptions): boolean {
  return (modes.get(serverKey(options)) ?? 'table') === 'table';
}

/** The mode to fall back to after `state`, or undefined when the error is not about permissions or the table. */
async function fallback(client: PgClient, mode: Mode, state: string | undefined): Promise<Mode | undefined> {
  if (mode === 'table' && state === '42P01') return (await createTable(client)) ? 'table' : 'message';
  if (mode === 'table' && state === '42501') return 'message';
  if (mode === 'message' && (state === '42501' || state === '42883')) return 'plain';
  return undefined;
}

/** One lock statement: try (or wait, when `blocking`), plus the fence, plus the holder row when the table is usable. */
async function attempt(client: PgClient, key: bigint, blocking: boolean, request: AcquireRequest): Promise<Attempt> {
  const { name, options } = request;
  const server = serverKey(options);
  let mode = modes.get(server) ?? 'table';
  for (let tries = 0; ; tries++) {
    const sentAt = monotonicMs();
    try {
      const { rows } = mode === 'table'
        ? await client.query(lockAndDescribeSql(blocking), [String(key), options.prefix, name, options.scope, process.pid, process.getuid?.() ?? -1, hostname(), JSON.stringify(options.command), safeCwd()])
        : await client.query(lockSql(blocking, mode === 'message'), [String(key)]);
      const row = rows[0] ?? {};
      return { ok: row['ok'] === true, fence: String(row['fence']), table: mode === 'table', sentAt };
    } catch (error) {
      if (tries >= 2) throw error;
      // A session lock taken by a statement that then failed survives the rollback: drop it before retrying.
      const next = await fallback(client, mode, sqlState(error));
      if (next === undefined) throw error;
      await client.query('SELECT pg_advisory_unlock_all()');
      mode = next;
      modes.set(server, mode);
    }
  }
}

/** Waits in `pg_advisory_lock` with lock_timeout set from the remaining time; an abort cancels the statement. */
async function waitFor(client: PgClient, key: bigint, request: AcquireRequest, startedAt: number): Promise<Attempt> {
  const { name, options, signal } = request;
  const remaining = options.timeoutMs === undefined ? 0 : Math.max(1, Math.ceil(options.timeoutMs - (monotonicMs() - startedAt)));
  await client.query(`SET lock_timeout = ${remaining}`);
  signal?.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(signal?.reason);
      // Cancel first so the session leaves the wait queue now; closing also frees a lock granted in the meantime.
      void sendCancel(client).finally(() => client.end().catch(() => {}));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const waiting = attempt(client, key, true, request);
  waiting.catch(() => {});
  try {
    return await Promise.race([waiting, aborted]);
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    if (sqlState(error) === '55P03') {
      throw new LockTimeoutError(name, options.timeoutMs ?? 0, await readHolder(client, key, hasTable(options), name, options.scope).catch(() => undefined));
    }
    throw error;
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}

/** How many new sessions acquire opens after the server ended one for idleness before the lock was handed out. */
const MAX_IDLE_RETRIES = 5;
/** SQLSTATE idle_session_timeout: the server ended a session that sent nothing for idle_session_timeout. */
const IDLE_SESSION_TIMEOUT = '57P05';

/** The outcome of an attempt whose session the server ended for idleness. */
class SessionIdledOut {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/**
 * One session's attempt. A lock granted after a wait is renewed (one `SELECT 1`) before it is handed out: the
 * wait's statement was sent long ago, so only a statement sent after the grant can date the lease. The lock is thus
 * live when acquire resolves, however long the wait was.
 */
async function acquireOnce(request: AcquireRequest, startedAt: number): Promise<BackendLock | SessionIdledOut> {
  const { name, options, signal } = request;
  const client = await openSession(options, signal);
  let endedBy: unknown;
  client.on('error', (error) => (endedBy ??= error));
  let lock: PostgresLock | undefined;
  try {
    const key = postgresLockKey(name, options.scope, client.user ?? '', options.prefix);
    let result = await attempt(client, key, false, request);
    let sentAt = result.sentAt;
    if (!result.ok) {
      if (!options.wait) {
        const holder = request.describeHolder ? await readHolder(client, key, result.table, name, options.scope).catch(() => undefined) : undefined;
        throw new LockBusyError(name, holder);
      }
      result = await waitFor(client, key, request, startedAt);
      sentAt = monotonicMs();
      await client.query('SELECT 1');
    }
    const { idleSessionTimeoutMs, heartbeatMs, ref } = options;
    lock = new PostgresLock({ client, name, key, fence: result.fence, table: result.table, sentAt, idleSessionTimeoutMs, heartbeatMs, ref });
    return lock;
  } catch (error) {
    if (signal?.aborted !== true && (sqlState(error) === IDLE_SESSION_TIMEOUT || sqlState(endedBy) === IDLE_SESSION_TIMEOUT)) return new SessionIdledOut(error);
    throw backendError(error, signal);
  } finally {
    if (lock === undefined) await client.end().catch(() => {});
  }
}

function backendError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  if (error instanceof OnlyoneError) return error;
  return new BackendError(`PostgreSQL failed: ${(error as Error).message}`, { cause: error });
}

/** Runs `fn` on a short-lived session (for status and list). */
async function withSession<T>(options: NormalizedOptions, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await openSession(options, undefined);
  try {
    return await fn(client);
  } catch (error) {
    throw backendError(error, undefined);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The PostgreSQL backend: a session advisory lock on a dedicated connection, freed by the server within
 * milliseconds when the holder's connection drops, with a fencing token from `pg_current_xact_id()`.
 * Throws LockBusyError, LockTimeoutError, InvalidLockNameError, and BackendError (`ERR_BACKEND`, driver error as
 * `cause`) when `pg` is missing or the server cannot be reached or refuses a statement. See docs/postgres.md.
 * @internal
 */
export const postgresBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: false, messaging: false, slots: false, fencing: true, replace: false },

  async acquire(request: AcquireRequest): Promise<BackendLock> {
    const { name, options } = request;
    checkText('lock name', name);
    for (const option of ['slots', 'replace'] as const) {
      if (options[option] !== undefined) throw new InvalidOptionError(`The \`${option}\` option is not supported by the postgres backend`);
    }
    const startedAt = monotonicMs();
    for (let tries = 1; ; tries++) {
      const outcome = await acquireOnce(request, startedAt);
      // The server ended the session for idleness before the lock was ours to use (this process was stopped, or
      // too slow, between two statements): nothing ran under it, so a new session simply starts over.
      if (!(outcome instanceof SessionIdledOut)) return outcome;
      if (tries >= MAX_IDLE_RETRIES) throw backendError(outcome.error, request.signal);
    }
  },

  async status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    checkText('lock name', name);
    return withSession(options, (client) => {
      const key = postgresLockKey(name, options.scope, client.user ?? '', options.prefix);
      return readHolder(client, key, hasTable(options), name, options.scope);
    });
  },

  async list(options: NormalizedOptions): Promise<Holder[]> {
    return withSession(options, async (client) => {
      try {
        const { rows } = await client.query(LIST_SQL, [options.prefix, options.scope]);
        return rows.map((row) => holderFromRow(row, '', options.scope));
      } catch (error) {
        if (sqlState(error) === '42P01') return [];
        throw error;
      }
    });
  },

  // `oncePer`: the record lives in onlyone_runs, written on the lock's own session, timed by the server's clock.
  async ledger(name: string, options: NormalizedOptions, lock: BackendLock): Promise<RunLedger> {
    if (!(lock instanceof PostgresLock)) throw new BackendError('The lock was not taken by the postgres backend');
    return postgresLedger((text, values) => lock.query(text, values), { key: lock.key, prefix: options.prefix, name, scope: options.scope });
  },

  // `coalesce`: the pending rerun lives in onlyone_reruns; the holder takes it on the lock's own session.
  async reruns(_name: string, _options: NormalizedOptions, lock: BackendLock): Promise<Reruns> {
    if (!(lock instanceof PostgresLock)) throw new BackendError('The lock was not taken by the postgres backend');
    return postgresReruns((text, values) => lock.query(text, values), lock.key).catch((error: unknown) => {
      throw backendError(error, undefined);
    });
  },

  async requestRerun(name: string, options: NormalizedOptions, request: Omit<RerunRequest, 'from'>): Promise<RerunReply> {
    checkText('lock name', name);
    return withSession(options, (client) => postgresTrigger((text, values) => client.query(text, values), postgresLockKey(name, options.scope, client.user ?? '', options.prefix), name, request));
  },

  async lastRun(name: string, options: NormalizedOptions): Promise<RunRecord | undefined> {
    checkText('lock name', name);
    return withSession(options, (client) => readLastRun((text, values) => client.query(text, values), postgresLockKey(name, options.scope, client.user ?? '', options.prefix)));
  },
};

function safeCwd(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}
