import { InvalidOptionError, NotHeldError, ProtocolError } from '../errors.js';
import type { RerunReply } from '../holder/reruns.js';
import { normalizeOptions, type StatusOptions } from '../options.js';
import { CONTROL_FRAME_BYTES, type Frame } from '../protocol/frames.js';
import { assertMayActOn } from '../identity/squatting.js';
import { HolderConnection } from './holder-connection.js';
import { unreachableHolder } from './unreachable.js';
import { backendFor } from '../backends/registry.js';
import { currentDirectory } from './send.js';

/** Options of `requestRerun()`. */
export interface RerunOptions extends StatusOptions {
  /** The command to run once more; `process.argv` by default. */
  readonly argv?: readonly string[];
  /** Its working directory; this process's by default. */
  readonly cwd?: string;
  /** Its environment; by default the holder's own is used. */
  readonly env?: Readonly<Record<string, string>>;
  /** Resolve only once the rerun has ended, with its `exit` (default false). */
  readonly wait?: boolean;
  /** Aborting it abandons the request (the rerun stays queued); the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** The holder's answer to a trigger. */
export type RerunResult = RerunReply;

/** How long a holder has to answer a trigger that does not wait. */
const ANSWER_TIMEOUT_MS = 35_000;
/** setTimeout's largest delay: with `wait`, the rerun may take as long as it takes. */
const FOREVER_MS = 2 ** 31 - 1;

/**
 * Asks the holder of `name`, which took it with `coalesce`, to run once more after its current run. Any number of
 * triggers during one run give exactly one rerun, with the latest trigger's argv, cwd (and env if given).
 * Resolves with `{ accepted: true, triggers }` (how many triggers the rerun stands for so far), with `wait` also its
 * `exit`; or `{ accepted: false }` when the holder is about to release: take the lock yourself.
 *
 * @example
 * ```ts
 * try {
 *   await using lock = await acquire('reindex', { coalesce: true });
 *   // ... run, then lock.takeRerun() until it returns undefined
 * } catch (error) {
 *   if (error.code === 'ERR_LOCK_BUSY') await requestRerun('reindex', { argv: ['reindex', '--full'] });
 * }
 * ```
 * @throws NotHeldError (`ERR_NOT_HELD`) when nobody holds the lock.
 * @throws RemoteError (`ERR_REMOTE`): `remoteCode` `not_supported` when the holder did not take the lock with
 * `coalesce`, `forbidden` when it runs as another user.
 * @throws ProtocolError when the holder breaks the protocol or goes away before answering; InvalidOptionError (also
 * for `wait` on postgres, whose holder keeps the pending rerun in the database); BackendError.
 */
export async function requestRerun(name: string, options?: RerunOptions): Promise<RerunResult> {
  const lockOptions = normalizeOptions(options === undefined ? undefined : pickWhere(options));
  const o = options ?? {};
  const argv = o.argv === undefined ? process.argv.slice() : o.argv;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === 'string')) throw new InvalidOptionError('The `argv` option must be a non-empty array of strings');
  if (o.cwd !== undefined && typeof o.cwd !== 'string') throw new InvalidOptionError('The `cwd` option must be a string');
  if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null || !Object.values(o.env).every((value) => typeof value === 'string'))) {
    throw new InvalidOptionError('The `env` option must be an object of strings');
  }
  const frame: Frame = { type: 'rerun', argv, cwd: o.cwd ?? currentDirectory(), ...(o.env === undefined ? {} : { env: o.env }), wait: o.wait === true };
  const bytes = Buffer.byteLength(JSON.stringify(frame), 'utf8');
  if (bytes > lockOptions.maxMessageBytes + CONTROL_FRAME_BYTES) throw new InvalidOptionError(`The rerun request is ${bytes} bytes, more than the holder accepts`);
  o.signal?.throwIfAborted();
  const backend = backendFor(lockOptions);
  if (backend.requestRerun !== undefined) {
    // The backend keeps the pending rerun itself (postgres): no socket to wait on, so no `wait`.
    if (o.wait === true) throw new InvalidOptionError(`The \`wait\` option of requestRerun needs a backend whose holder answers on a socket ('abstract', 'lockfile'), not '${backend.kind}'`);
    return backend.requestRerun(name, lockOptions, { argv: Object.freeze(argv.slice()), cwd: o.cwd ?? currentDirectory(), env: o.env });
  }
  if (backend.messageAddress === undefined) throw new InvalidOptionError(`The \`backend\` option '${lockOptions.backend}' does not support reruns`);
  const address = backend.messageAddress(name, lockOptions);
  // With expectedUid, the holder is identified before anything is written to it (never ask a squatter to run).
  if (lockOptions.expectedUid !== undefined) {
    const holder = await backend.status(name, lockOptions);
    if (holder === undefined) throw new NotHeldError(name);
    assertMayActOn(name, holder, lockOptions);
  }
  const outcome = await HolderConnection.open(address, lockOptions.maxMessageBytes);
  if (!outcome.ok) throw await unreachableHolder(name, address, backend, outcome);
  const connection = outcome.connection;
  const onAbort = (): void => connection.close();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // A silent process (a lock fd handed to a plain child) never says hello: fail in helloTimeoutMs, not forever.
    await connection.hello(lockOptions.helloTimeoutMs);
    const answer = await connection.request(frame, o.wait === true ? FOREVER_MS : ANSWER_TIMEOUT_MS);
    const data = answer['data'] as { accepted?: unknown; triggers?: unknown; exit?: unknown } | undefined;
    if (answer.type !== 'reply' || typeof data?.accepted !== 'boolean') throw new ProtocolError('holder answered a rerun request with something else than a rerun reply');
    if (!data.accepted) return { accepted: false };
    const exit = typeof data.exit === 'number' || typeof data.exit === 'string' ? { exit: data.exit } : {};
    return { accepted: true, triggers: Number(data.triggers), ...exit };
  } catch (error) {
    if (o.signal?.aborted === true) throw o.signal.reason;
    throw error;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    connection.close();
  }
}

function pickWhere(options: RerunOptions): StatusOptions {
  const { argv: _argv, cwd: _cwd, env: _env, wait: _wait, signal: _signal, ...where } = options;
  return where;
}
