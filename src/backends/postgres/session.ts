import { hostname } from 'node:os';
import { BackendError } from '../../errors.js';
import type { NormalizedOptions } from '../../options.js';
import { loadPg, type PgClient, type PgClientConfig } from './driver.js';

/** How long connecting (TCP, TLS, authentication) may take before the server counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;
/** A waiting session checks this often whether its client went away, so an abandoned wait leaves the queue. */
const CLIENT_CHECK_INTERVAL_MS = 1000;

/** Server settings of a lock session: a hung client loses its session, and so its lock. */
function sessionSettings(idleMs: number): { required: Record<string, string>; optional: Record<string, string> } {
  const idleSeconds = Math.max(1, Math.ceil(idleMs / 1000));
  return {
    required: { idle_session_timeout: String(idleMs) },
    // None of these can end a healthy session before idle_session_timeout would; see docs/postgres.md.
    optional: {
      tcp_keepalives_idle: String(idleSeconds),
      tcp_keepalives_interval: String(Math.max(1, Math.ceil(idleSeconds / 3))),
      tcp_keepalives_count: '3',
      tcp_user_timeout: String(idleMs),
      client_connection_check_interval: String(CLIENT_CHECK_INTERVAL_MS),
    },
  };
}

/** `application_name` is at most 63 bytes of printable ASCII; contenders read it when the holder table is missing. */
function applicationName(): string {
  return `onlyone ${process.pid}@${hostname()}`.replace(/[^\x20-\x7e]/gu, '?').slice(0, 63);
}

/** A startup parameter in the URL replaces ours (pg lets the connection string win), so then SET is used. */
function urlSetsOptions(url: string | undefined): boolean {
  if (url === undefined) return process.env['PGOPTIONS'] !== undefined;
  try {
    return new URL(url).searchParams.has('options');
  } catch {
    return /[?&]options=/u.test(url);
  }
}

/** The server refused a startup parameter (an old server, or a pooler such as PgBouncer). */
function rejectedStartupOption(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '42704' || code === '08P01' || /startup parameter|unrecognized configuration parameter/iu.test(String((error as Error).message));
}

/**
 * Opens the dedicated connection of one lock (never pooled), configured so that the server ends it, and frees the
 * lock, when the client hangs, stops or disappears.
 * @throws BackendError (`ERR_BACKEND`) when `pg` is missing or the server cannot be reached or configured.
 * Aborting `signal` closes the connection and rejects with `signal.reason`.
 * @internal
 */
export async function openSession(options: NormalizedOptions, signal: AbortSignal | undefined): Promise<PgClient> {
  const Client = await loadPg();
  const { required, optional } = sessionSettings(options.idleSessionTimeoutMs);
  const all = { ...required, ...optional };
  const startup = urlSetsOptions(options.url) ? undefined : Object.entries(all).map(([key, value]) => `-c ${key}=${value}`).join(' ');
  const config: PgClientConfig = {
    ...(options.url === undefined ? {} : { connectionString: options.url }),
    application_name: applicationName(),
    keepAlive: true,
    keepAliveInitialDelayMillis: options.idleSessionTimeoutMs,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
  if (startup !== undefined) {
    try {
      return await connect(new Client({ ...config, options: startup }), signal);
    } catch (error) {
      if (signal?.aborted === true || !rejectedStartupOption(error)) throw wrap(error, signal);
    }
  }
  let client: PgClient;
  try {
    client = await connect(new Client(config), signal);
  } catch (error) {
    throw wrap(error, signal);
  }
  try {
    for (const [key, value] of Object.entries(required)) await client.query(`SET ${key} = ${value}`);
  } catch (error) {
    await client.end().catch(() => {});
    throw new BackendError('The server does not support idle_session_timeout, which the postgres backend needs so that a hung holder loses its lock: use PostgreSQL >= 14, connected directly (not through a transaction-mode pooler)', { cause: error });
  }
  for (const [key, value] of Object.entries(optional)) await client.query(`SET ${key} = ${value}`).catch(() => {});
  return client;
}

async function connect(client: PgClient, signal: AbortSignal | undefined): Promise<PgClient> {
  // Without a listener, an error on an idle client would be an uncaught exception; owners add their own.
  client.on('error', () => {});
  signal?.throwIfAborted();
  const onAbort = (): void => void client.end().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    signal?.throwIfAborted();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function wrap(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  if (error instanceof BackendError) return error;
  return new BackendError(`Cannot open a PostgreSQL session: ${(error as Error).message}`, { cause: error });
}
