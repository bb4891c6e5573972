import { InvalidOptionError } from '../../errors.js';

/** Options of the `postgres` backend. Every other backend ignores them. */
export interface PostgresOptions {
  /**
   * Connection string of the PostgreSQL server, e.g. `postgres://user@db.example:5432/app`.
   * Without it, `pg` reads libpq's environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`).
   * On the etcd backend: `etcd://[user[:password]@]host:2379[,host2:2379…]` (`etcds://` for TLS); without it,
   * etcdctl's `ETCDCTL_ENDPOINTS` (default 127.0.0.1:2379), with `ETCDCTL_USER` for credentials.
   */
  readonly url?: string;
  /**
   * The server ends a lock's session after it has been idle this long, in ms (default 10000). It is how a holder
   * that hangs or is stopped (SIGSTOP) loses its lock; the holder itself gives the lock up a little earlier.
   */
  readonly idleSessionTimeoutMs?: number;
  /** How often a holder proves it is alive (`SELECT 1`), in ms. At most half of `idleSessionTimeoutMs` (default a quarter, capped at 2000). */
  readonly heartbeatMs?: number;
}

/** The postgres options after defaults and validation. @internal */
export interface NormalizedPostgresOptions {
  readonly url: string | undefined;
  readonly idleSessionTimeoutMs: number;
  readonly heartbeatMs: number;
}

/** Below this the server's timer resolution and a busy event loop make false losses likely. */
const MIN_IDLE_SESSION_TIMEOUT_MS = 200;

/**
 * Fills in and checks the postgres options, naming the option in any error.
 * @throws InvalidOptionError
 * @internal
 */
export function normalizePostgresOptions(options: PostgresOptions): NormalizedPostgresOptions {
  const { url, idleSessionTimeoutMs, heartbeatMs } = options;
  if (url !== undefined && (typeof url !== 'string' || url.length === 0)) {
    throw new InvalidOptionError('The `url` option must be a non-empty string, such as postgres://user@host:5432/db');
  }
  const idle = idleSessionTimeoutMs === undefined ? 10_000 : integerAtLeast('idleSessionTimeoutMs', idleSessionTimeoutMs, MIN_IDLE_SESSION_TIMEOUT_MS);
  const beat = heartbeatMs === undefined ? Math.min(2000, Math.floor(idle / 4)) : integerAtLeast('heartbeatMs', heartbeatMs, 1);
  if (beat * 2 > idle) {
    throw new InvalidOptionError(`The \`heartbeatMs\` option (${beat}) must be at most half of \`idleSessionTimeoutMs\` (${idle})`);
  }
  return { url, idleSessionTimeoutMs: idle, heartbeatMs: beat };
}

function integerAtLeast(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(`The \`${name}\` option must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}
