import { backendFor } from '../backends/registry.js';
import { InvalidOptionError, MessageTooLargeError, NotHeldError, ProtocolError, SendTimeoutError, type ForwardOptions } from '../errors.js';
import { peerCredentials } from '../identity/peercred.js';
import { assertMayActOn, squattedError } from '../identity/squatting.js';
import { normalizeOptions, type LockOptions, type StatusOptions } from '../options.js';
import { CONTROL_FRAME_BYTES, type Frame } from '../protocol/frames.js';
import { assertPlainJson } from '../protocol/plain-json.js';
import { HolderConnection } from './holder-connection.js';
import { unreachableHolder } from './unreachable.js';

/** Options of `send()`. */
export interface SendOptions extends StatusOptions, ForwardOptions {}

/** The sender's default timeout: a little over the holder's default handler timeout (30 s), so its answer wins. */
const DEFAULT_SEND_TIMEOUT_MS = 35_000;

/**
 * Sends `data` to the instance holding `name` and resolves with its reply (what its `onMessage` returned).
 * `argv` and `cwd` travel with it, exactly as given (by default this process's `process.argv` and cwd).
 * `data` must be plain JSON (null, booleans, finite numbers, strings, arrays, plain objects); it arrives
 * exactly as sent. `send(name)` with no data sends `null`, since `undefined` is not JSON.
 *
 * @example
 * ```ts
 * const reply = await send('editor', { open: ['notes.txt'] }, { timeoutMs: 5000 });
 * // The reply's type is what the holder's onMessage returns; say it, it is not checked:
 * const { opened } = await send<{ opened: number }>('editor', { open: ['notes.txt'] });
 * ```
 * @typeParam Reply - the type of the reply (default `unknown`). It is a claim about the holder, not checked
 * at run time: validate it if the holder may be another program.
 * @throws NotHeldError (`ERR_NOT_HELD`) when nobody holds the lock.
 * @throws MessageTooLargeError (`ERR_MESSAGE_TOO_LARGE`) when `data` is over `maxMessageBytes`; nothing is sent.
 * @throws InvalidMessageError (`ERR_INVALID_MESSAGE`) when `data` is not plain JSON; nothing is sent.
 * @throws RemoteError (`ERR_REMOTE`) when the holder answers with an error; `remoteCode` is `handler_error`,
 * `handler_timeout`, `no_handler`, `too_large`, `forbidden` (another user's process), `busy`, ...
 * @throws SendTimeoutError (`ERR_SEND_TIMEOUT`) when no reply comes within `timeoutMs`.
 * @throws ProtocolError (`ERR_PROTOCOL`) when the holder breaks the protocol, sends no hello within
 * `helloTimeoutMs` (default 1000), hangs up without answering, or the name is bound by a socket that does not listen.
 * @throws LockSquattedError (`ERR_LOCK_SQUATTED`) with `expectedUid`, when the kernel shows (or cannot confirm)
 * a holder of another uid; nothing is sent.
 * @throws OsError (`ERR_OS`) when the system refuses the connection (out of descriptors).
 * @throws InvalidLockNameError, InvalidOptionError. Aborting `signal` rejects with `signal.reason`.
 */
export async function send<Reply = unknown>(name: string, data: unknown = null, options?: SendOptions): Promise<Reply> {
  const lockOptions = normalizeOptions(options === undefined ? undefined : pickLockOptions(options));
  const o = options ?? {};
  const timeoutMs = o.timeoutMs === undefined ? DEFAULT_SEND_TIMEOUT_MS : positive('timeoutMs', o.timeoutMs);
  const maxMessageBytes = o.maxMessageBytes === undefined ? lockOptions.maxMessageBytes : positive('maxMessageBytes', o.maxMessageBytes);
  const argv = o.argv === undefined ? process.argv.slice() : strings('argv', o.argv);
  const cwd = o.cwd === undefined ? currentDirectory() : text('cwd', o.cwd);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new InvalidOptionError('The `signal` option must be an AbortSignal');
  const backend = backendFor(lockOptions);
  if (backend.messageAddress === undefined) throw new InvalidOptionError(`The \`backend\` option '${lockOptions.backend}' does not support messages`);
  const address = backend.messageAddress(name, lockOptions);
  const frame = messageFrame(argv, cwd, data, maxMessageBytes);
  o.signal?.throwIfAborted();
  // With expectedUid, the holder is identified before anything is written to it (never message a squatter).
  if (lockOptions.expectedUid !== undefined) {
    const holder = await backend.status(name, lockOptions);
    if (holder === undefined) throw new NotHeldError(name);
    assertMayActOn(name, holder, lockOptions);
  }

  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = o.signal === undefined ? deadline : AbortSignal.any([o.signal, deadline]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => reject(deadline.aborted && o.signal?.aborted !== true ? new SendTimeoutError(name, timeoutMs) : signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  let connection: HolderConnection | undefined;
  const opening = HolderConnection.open(address, maxMessageBytes);
  try {
    const outcome = await Promise.race([opening, aborted]);
    if (!outcome.ok) throw await unreachableHolder(name, address, backend, outcome);
    connection = outcome.connection;
    if (lockOptions.expectedUid !== undefined) {
      // The socket we reached is the one that was checked, unless it changed hands since: the kernel says who bound it.
      const fd = connection.fd;
      const bound = fd === undefined ? undefined : await peerCredentials(fd);
      if (bound !== undefined && bound.uid !== lockOptions.expectedUid) throw squattedError(name, bound.uid, undefined, lockOptions);
    }
    // The request is written at once, without waiting for the hello: one round trip, not two.
    // The connection's own timer is only a backstop; `deadline` fires first.
    // A process that holds the name without speaking the protocol (a lock fd handed to a plain child) accepts
    // and never answers: its missing hello fails the send in helloTimeoutMs instead of the whole timeoutMs.
    const silent = connection.hello(lockOptions.helloTimeoutMs).then(() => new Promise<never>(() => {}));
    silent.catch(() => {});
    const answer = await Promise.race([connection.request(frame, timeoutMs + 60_000), silent, aborted]);
    if (answer.type !== 'reply') throw new ProtocolError(`holder answered a message with a ${JSON.stringify(answer.type).slice(0, 40)} frame`);
    return (answer['data'] ?? null) as Reply;
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    if (connection !== undefined) connection.close();
    // Timed out while connecting: close the connection if it opens after all.
    else void opening.then((late) => late.ok && late.connection.close());
  }
}

/** Builds the message frame, refusing data that is not plain JSON or is over the cap. */
function messageFrame(argv: readonly string[], cwd: string, data: unknown, maxMessageBytes: number): Frame {
  assertPlainJson(data, 'data');
  const dataBytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (dataBytes > maxMessageBytes) throw new MessageTooLargeError('The message data', dataBytes, maxMessageBytes);
  // argv and cwd ride in the envelope, which the holder allows CONTROL_FRAME_BYTES on top of the data.
  const envelope = Buffer.byteLength(JSON.stringify({ type: 'message', id: Number.MAX_SAFE_INTEGER, argv, cwd, data: null }), 'utf8');
  if (envelope > CONTROL_FRAME_BYTES) throw new MessageTooLargeError('The message argv and cwd', envelope, CONTROL_FRAME_BYTES);
  return { type: 'message', argv, cwd, data };
}

function pickLockOptions(options: SendOptions): StatusOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`Options must be an object, got ${options === null ? 'null' : typeof options}`);
  const { scope, prefix, backend, dir, helloTimeoutMs, expectedUid } = options;
  const picked: LockOptions = {
    ...(scope === undefined ? {} : { scope }),
    ...(prefix === undefined ? {} : { prefix }),
    ...(backend === undefined ? {} : { backend }),
    ...(dir === undefined ? {} : { dir }),
    ...(expectedUid === undefined ? {} : { expectedUid }),
  };
  return helloTimeoutMs === undefined ? picked : { ...picked, helloTimeoutMs };
}

/** process.cwd() throws when the directory was deleted; the holder then gets an empty cwd, as with a raw client. */
/** @internal */
export function currentDirectory(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`The \`${name}\` option must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

function strings(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new InvalidOptionError(`The \`${name}\` option must be an array of strings`);
  return value.slice();
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidOptionError(`The \`${name}\` option must be a string, got ${typeof value}`);
  return value;
}
