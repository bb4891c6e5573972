import type { Holder } from './holder/types.js';
import type { RunRecord } from './once-per/record.js';
import type { RunWindow } from './once-per/window.js';

/** Sends a message to the holder that refused us; set by the generic layer, which knows name and options. @internal */
export type Forwarder = (data: unknown, options: ForwardOptions | undefined) => Promise<unknown>;

/** Options of `LockBusyError#send`: those of `send()` except which lock (the error already knows it). */
export interface ForwardOptions {
  /** The argv sent with the message; `process.argv` by default. */
  readonly argv?: readonly string[];
  /** The working directory sent with the message; `process.cwd()` by default. */
  readonly cwd?: string;
  /** Give up waiting for the reply after this many ms (default 35000). */
  readonly timeoutMs?: number;
  /** Aborting it abandons the message; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Largest message (data as JSON) and reply accepted, in bytes (default 1 MiB). */
  readonly maxMessageBytes?: number;
}

const forwarders = new WeakMap<LockBusyError, Forwarder>();

/** Lets a LockBusyError forward a message to the holder it names. @internal */
export function setForwarder(error: LockBusyError, forwarder: Forwarder): void {
  forwarders.set(error, forwarder);
}

/** Every error code onlyone can produce. Contention is `ERR_LOCK_BUSY` on every backend. */
export type OnlyoneErrorCode =
  | 'ERR_LOCK_BUSY'
  | 'ERR_LOCK_TIMEOUT'
  | 'ERR_LOCK_LOST'
  | 'ERR_LOCK_RELEASED'
  | 'ERR_LOCK_SQUATTED'
  | 'ERR_ALREADY_RAN'
  | 'ERR_INVALID_LOCK_NAME'
  | 'ERR_INVALID_OPTION'
  | 'ERR_PROTOCOL'
  | 'ERR_NOT_HELD'
  | 'ERR_REMOTE'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_SEND_TIMEOUT'
  | 'ERR_UNSUPPORTED_RUNTIME'
  | 'ERR_UNSUPPORTED_PLATFORM'
  | 'ERR_BACKEND'
  | 'ERR_OS';

/** Base class of every error thrown by onlyone. The OS or driver error, if any, is in `cause`. */
export class OnlyoneError extends Error {
  readonly code: OnlyoneErrorCode;

  constructor(code: OnlyoneErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * `oncePer`: the lock was free, but a run has already started in the current window (on this host or another).
 * `lastRun` is that run's record; `window` is the current window, on the backend's clock.
 */
export class AlreadyRanError extends OnlyoneError {
  readonly lockName: string;
  readonly lastRun: RunRecord;
  readonly window: RunWindow;

  constructor(lockName: string, lastRun: RunRecord, window: RunWindow) {
    const exit = lastRun.endedAt === null ? 'no recorded end' : `exit ${String(lastRun.exit)}`;
    super('ERR_ALREADY_RAN', `Lock "${lockName}" already ran in this window: started ${new Date(lastRun.startedAt).toISOString()} on ${lastRun.hostname} (pid ${lastRun.pid}), ${exit}`);
    this.lockName = lockName;
    this.lastRun = lastRun;
    this.window = window;
  }
}

/** The lock is held by someone else. `holder` is what the holder said about itself, when it said anything. */
export class LockBusyError extends OnlyoneError {
  readonly lockName: string;
  readonly holder: Holder | undefined;

  constructor(lockName: string, holder: Holder | undefined, options?: ErrorOptions) {
    super('ERR_LOCK_BUSY', `Lock "${lockName}" is held${describeHolder(holder)}`, options);
    this.lockName = lockName;
    this.holder = holder;
  }

  /**
   * Forwards a message to the instance that holds the lock, and resolves with its reply: the one call a
   * second instance needs to hand its work to the first.
   *
   * @example
   * ```ts
   * try {
   *   await using lock = await acquire('editor', { onMessage: ({ argv }) => openFiles(argv) });
   *   await runEditor();
   * } catch (error) {
   *   if (error instanceof LockBusyError) console.log(await error.send({ open: process.argv.slice(2) }));
   *   else throw error;
   * }
   * ```
   * @typeParam Reply - the type of the reply, as for `send()`: a claim, not checked at run time.
   * @throws the errors of `send()`: NotHeldError if the holder is gone by now, RemoteError, SendTimeoutError,
   * MessageTooLargeError, InvalidMessageError.
   */
  send<Reply = unknown>(data?: unknown, options?: ForwardOptions): Promise<Reply> {
    const forwarder = forwarders.get(this);
    if (forwarder === undefined) {
      return Promise.reject(new UnsupportedError('ERR_UNSUPPORTED_PLATFORM', `This LockBusyError for "${this.lockName}" cannot forward messages (its backend has no messaging)`));
    }
    return forwarder(data, options) as Promise<Reply>;
  }
}

/** `send()` found nobody holding the lock: there is no instance to talk to. */
export class NotHeldError extends OnlyoneError {
  readonly lockName: string;

  constructor(lockName: string, options?: ErrorOptions) {
    super('ERR_NOT_HELD', `Lock "${lockName}" is not held: there is no instance to send to`, options);
    this.lockName = lockName;
  }
}

/** A message or reply is larger than `maxMessageBytes`; nothing was sent. */
export class MessageTooLargeError extends OnlyoneError {
  readonly bytes: number;
  readonly maxBytes: number;

  constructor(what: string, bytes: number, maxBytes: number) {
    super('ERR_MESSAGE_TOO_LARGE', `${what} is ${bytes} bytes, more than the ${maxBytes}-byte cap (\`maxMessageBytes\`)`);
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** A message's data would not arrive as sent (undefined, a function, a BigInt, NaN, a cycle, a class instance...). */
export class InvalidMessageError extends OnlyoneError {
  constructor(message: string) {
    super('ERR_INVALID_MESSAGE', message);
  }
}

/** The holder did not answer within the sender's `timeoutMs`. */
export class SendTimeoutError extends OnlyoneError {
  readonly lockName: string;

  constructor(lockName: string, timeoutMs: number) {
    super('ERR_SEND_TIMEOUT', `The holder of "${lockName}" did not answer within ${timeoutMs} ms`);
    this.lockName = lockName;
  }
}

/** Waiting for the lock took longer than `timeoutMs`. */
export class LockTimeoutError extends OnlyoneError {
  readonly lockName: string;
  readonly holder: Holder | undefined;

  constructor(lockName: string, timeoutMs: number, holder: Holder | undefined) {
    super('ERR_LOCK_TIMEOUT', `Timed out after ${timeoutMs} ms waiting for lock "${lockName}"${describeHolder(holder)}`);
    this.lockName = lockName;
    this.holder = holder;
  }
}

/** A held lock stopped being held without `release()` being called (connection lost, fd closed). */
export class LockLostError extends OnlyoneError {
  constructor(lockName: string, why: string, options?: ErrorOptions) {
    super('ERR_LOCK_LOST', `Lock "${lockName}" was lost: ${why}`, options);
  }
}

/** The reason `lock.signal` carries after a deliberate `release()`. */
export class LockReleasedError extends OnlyoneError {
  constructor(lockName: string) {
    super('ERR_LOCK_RELEASED', `Lock "${lockName}" was released`);
  }
}

/** The lock is held by a process of a user who should not be able to hold it (see the README's security model). */
export class LockSquattedError extends OnlyoneError {
  readonly lockName: string;
  readonly holder: Holder | undefined;

  constructor(lockName: string, holder: Holder | undefined, message: string) {
    super('ERR_LOCK_SQUATTED', message);
    this.lockName = lockName;
    this.holder = holder;
  }
}

/** The lock name cannot be used; the message says why. Nothing was bound. */
export class InvalidLockNameError extends OnlyoneError {
  constructor(message: string) {
    super('ERR_INVALID_LOCK_NAME', message);
  }
}

/** An option has the wrong type or value; the message names the option. */
export class InvalidOptionError extends OnlyoneError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_INVALID_OPTION', message, options);
  }
}

/** The peer on the socket broke the protocol (bad frame, oversized frame, no hello in time). */
export class ProtocolError extends OnlyoneError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_PROTOCOL', message, options);
  }
}

/** The holder answered a request with an error frame; `remoteCode` is the protocol's error code. */
export class RemoteError extends OnlyoneError {
  readonly remoteCode: string;

  constructor(remoteCode: string, message: string) {
    super('ERR_REMOTE', `${message} (${remoteCode})`);
    this.remoteCode = remoteCode;
  }
}

/** The lock server (e.g. PostgreSQL) could not be reached or refused a request, or its driver is missing. The driver error is in `cause`. */
export class BackendError extends OnlyoneError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_BACKEND', message, options);
  }
}

/**
 * The operating system refused what onlyone needed to give a true answer: the process or the system is out of
 * descriptors (EMFILE, ENFILE), socket memory ran out (ENOBUFS, ENOMEM), or /proc cannot be read (EACCES). The
 * lock's state is unknown: it is never reported as free. `errno` is the OS code; the OS error is in `cause`.
 */
export class OsError extends OnlyoneError {
  readonly errno: string;

  constructor(errno: string, message: string, options?: ErrorOptions) {
    super('ERR_OS', message, options);
    this.errno = errno;
  }
}

/** The runtime cannot bind abstract sockets correctly (libuv < 1.46), or the platform has none. */
export class UnsupportedError extends OnlyoneError {}

function describeHolder(holder: Holder | undefined): string {
  if (holder === undefined) return '';
  if (holder.pid === 0) return ` by a process that did not identify itself${holder.unverifiedReason === undefined ? '' : ` (${holder.unverifiedReason})`}`;
  const command = holder.argv.length > 0 ? `, '${holder.argv.join(' ')}'` : '';
  const host = holder.hostname === '' ? '' : ` on ${holder.hostname}`;
  const silent = holder.protocol === 0 && holder.silentReason !== undefined ? ` (${holder.silentReason})` : '';
  return ` by pid ${holder.pid}${host}${command}${silent}`;
}
