import path from 'node:path';
import { DEFAULT_PREFIX, type Scope } from './address.js';
import { InvalidOptionError } from './errors.js';
import type { MessageHandler, PeerIdentity } from './holder/messages.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './protocol/frames.js';
import { normalizeScheduleOptions, type NormalizedScheduleOptions, type ScheduleOptions } from './once-per/options.js';
import { normalizePostgresOptions, type NormalizedPostgresOptions, type PostgresOptions } from './backends/postgres/options.js';
import { normalizeEtcdOptions, type EtcdOptions, type NormalizedEtcdOptions } from './backends/etcd/options.js';

/**
 * Where locks live. `abstract` (Linux abstract sockets) is the default on Linux, `lockfile` (a flock()ed file
 * plus a socket file) elsewhere; `postgres` spans machines. The `ONLYONE_BACKEND` environment variable overrides
 * the default. `etcd` spans machines on an etcd cluster (etcd's own lock protocol, so it excludes `etcdctl lock`).
 */
export type BackendName = 'abstract' | 'lockfile' | 'postgres' | 'etcd';

/** Options that say which lock a name refers to. */
export interface LockOptions extends PostgresOptions, EtcdOptions {
  /** `user` (default): one lock per user. `system`: one lock for every user of this network namespace. */
  readonly scope?: Scope;
  /** Address prefix, `onlyone/v1/` by default. Snap confinement needs `snap.<instance>.`. */
  readonly prefix?: string;
  /** Backend to use; `abstract` on Linux and `lockfile` elsewhere by default, or `$ONLYONE_BACKEND`. */
  readonly backend?: BackendName;
  /**
   * `lockfile` backend: the directory of lock and socket files. Default: `/run/lock/onlyone-<uid>` for
   * user scope (`/tmp/onlyone-<uid>` where neither `/run/lock` nor `/var/lock` exists), whatever the
   * environment, and `/run/onlyone` for system scope.
   */
  readonly dir?: string;
}

/** Options of `status` and `list`. */
export interface StatusOptions extends LockOptions {
  /** How long to wait for a holder's hello, in ms (default 1000). */
  readonly helloTimeoutMs?: number;
  /** The uid that should hold the lock: a holder the kernel shows with another uid is a squatter (`ERR_LOCK_SQUATTED`), in any scope. */
  readonly expectedUid?: number;
}

/** Options of `acquire`, `tryAcquire` and `withLock`. */
export interface AcquireOptions extends StatusOptions, ScheduleOptions {
  /** Wait for the lock instead of failing with LockBusyError (default false). */
  readonly wait?: boolean;
  /** With `wait`, give up after this many ms with LockTimeoutError. */
  readonly timeoutMs?: number;
  /** Aborting it stops waiting; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Keep the event loop alive while the lock is held (default false). */
  readonly ref?: boolean;
  /** The command line advertised to contenders; `process.argv` by default. */
  readonly command?: readonly string[];
  /** Handles messages from other instances; its return value (or promise) is the reply. */
  readonly onMessage?: MessageHandler;
  /** How long a message handler may take before the sender gets a timeout error, in ms (default 30000). */
  readonly messageTimeoutMs?: number;
  /** Largest message or reply accepted, in bytes of JSON (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Most connections the holder keeps open at once; more are turned away with `busy` (default 512). */
  readonly maxConnections?: number;
  /** While waiting, re-check the lock at least this often, in ms, in case a wake-up was missed (default 1000). */
  readonly pollIntervalMs?: number;
  /** How long a peer may take to finish a frame it has started, in ms, before the holder drops it (default 5000). */
  readonly frameTimeoutMs?: number;
  /** Other uids whose messages and release requests the holder accepts (its own uid and root always may). */
  readonly allowUids?: readonly number[];
  /**
   * Called when another instance asks this holder to release (`acquire(name, { replace })`, `onlyone stop`).
   * Release the lock (and exit) to be replaced politely. Without it, such requests are refused and the
   * replacer goes straight to SIGTERM.
   */
  readonly onReleaseRequest?: (from: PeerIdentity) => void;
  /**
   * If the lock is held, replace its holder: ask it to release, wait `graceMs` (default 10000), SIGTERM
   * the processes verified to hold the lock, wait `killAfterMs` (default `graceMs`), SIGKILL them, then
   * take the lock. `true` means the defaults. Not with `slots`.
   */
  readonly replace?: boolean | ReplaceOptions;
  /** Take one of `slots` locks `NAME#0` ... `NAME#<slots-1>`, so that at most `slots` holders run at once. */
  readonly slots?: number;
}

/** How `acquire(name, { replace })` escalates. */
export interface ReplaceOptions {
  /** How long the holder has to release after a release request, in ms (default 10000). */
  readonly graceMs?: number;
  /** How long the holder's processes have after SIGTERM before SIGKILL, in ms (default `graceMs`). */
  readonly killAfterMs?: number;
}

/** Largest `slots` value accepted: a waiter holds one connection (one fd) per slot. */
export const MAX_SLOTS: number = 1024;

/** Options after defaults and validation. Frozen, null-prototype. @internal */
export interface NormalizedOptions extends NormalizedPostgresOptions, NormalizedEtcdOptions, NormalizedScheduleOptions {
  readonly scope: Scope;
  readonly prefix: string;
  readonly backend: BackendName;
  /** Absolute; undefined means the backend's default for the scope. */
  readonly dir: string | undefined;
  readonly helloTimeoutMs: number;
  readonly wait: boolean;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly ref: boolean;
  readonly command: readonly string[];
  readonly onMessage: MessageHandler | undefined;
  readonly messageTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly pollIntervalMs: number;
  readonly frameTimeoutMs: number;
  readonly expectedUid: number | undefined;
  readonly allowUids: readonly number[];
  readonly onReleaseRequest: ((from: PeerIdentity) => void) | undefined;
  readonly replace: { readonly graceMs: number; readonly killAfterMs: number } | undefined;
  readonly slots: number | undefined;
}

const BACKENDS: readonly BackendName[] = ['abstract', 'lockfile', 'postgres', 'etcd'];

/**
 * Fills in defaults and validates every option, naming the option in any error.
 * @throws InvalidOptionError
 * @internal
 */
export function normalizeOptions(options: AcquireOptions | undefined): NormalizedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError(`Options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const o: AcquireOptions = options ?? {};
  const postgres = normalizePostgresOptions(o);
  const schedule = normalizeScheduleOptions(o);
  // A plain literal with every key, in one shape: this runs on every acquire (a null-prototype object built by
  // spreading would be a slow dictionary, costing about 2 µs per acquire).
  const normalized: NormalizedOptions = {
    scope: oneOf('scope', o.scope, SCOPES, 'user'),
    prefix: o.prefix === undefined ? DEFAULT_PREFIX : string('prefix', o.prefix),
    backend: o.backend === undefined ? defaultBackend() : oneOf('backend', o.backend, BACKENDS, 'abstract'),
    dir: o.dir === undefined ? undefined : directory(o.dir),
    helloTimeoutMs: positive('helloTimeoutMs', o.helloTimeoutMs, 1000),
    wait: bool('wait', o.wait, false),
    timeoutMs: o.timeoutMs === undefined ? undefined : nonNegative('timeoutMs', o.timeoutMs),
    signal: abortSignal(o.signal),
    ref: bool('ref', o.ref, false),
    command: o.command === undefined ? process.argv.slice() : stringArray('command', o.command),
    onMessage: fn('onMessage', o.onMessage),
    messageTimeoutMs: positive('messageTimeoutMs', o.messageTimeoutMs, 30_000),
    maxMessageBytes: positive('maxMessageBytes', o.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
    maxConnections: positive('maxConnections', o.maxConnections, 512),
    pollIntervalMs: positive('pollIntervalMs', o.pollIntervalMs, 1000),
    frameTimeoutMs: positive('frameTimeoutMs', o.frameTimeoutMs, 5000),
    expectedUid: o.expectedUid === undefined ? undefined : uid('expectedUid', o.expectedUid),
    allowUids: o.allowUids === undefined ? NO_UIDS : uidArray('allowUids', o.allowUids),
    onReleaseRequest: fn('onReleaseRequest', o.onReleaseRequest),
    replace: replaceOption(o.replace),
    slots: o.slots === undefined ? undefined : slotsOption(o.slots),
    url: postgres.url,
    idleSessionTimeoutMs: postgres.idleSessionTimeoutMs,
    heartbeatMs: postgres.heartbeatMs,
    ttlSeconds: normalizeEtcdOptions(o).ttlSeconds,
    oncePer: schedule.oncePer,
    minHoldMs: schedule.minHoldMs,
    coalesce: schedule.coalesce,
    onRerunRequest: schedule.onRerunRequest,
    reruns: schedule.reruns,
  };
  return Object.freeze(normalized);
}

const SCOPES = ['user', 'system'] as const;
const NO_UIDS: readonly number[] = Object.freeze([]);

/** `abstract` on Linux, `lockfile` elsewhere, unless `ONLYONE_BACKEND` names one. */
function defaultBackend(): BackendName {
  const fromEnv = process.env['ONLYONE_BACKEND'];
  if (fromEnv === undefined || fromEnv === '') return process.platform === 'linux' ? 'abstract' : 'lockfile';
  if (!BACKENDS.includes(fromEnv as BackendName)) {
    throw new InvalidOptionError(`The ONLYONE_BACKEND environment variable must be one of ${BACKENDS.map((b) => `'${b}'`).join(', ')}, got ${JSON.stringify(fromEnv)}`);
  }
  return fromEnv as BackendName;
}

function directory(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new InvalidOptionError(`The \`dir\` option must be a non-empty path without NUL bytes, got ${JSON.stringify(value)}`);
  }
  return path.resolve(value);
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new InvalidOptionError(`The \`${name}\` option must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function string(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidOptionError(`The \`${name}\` option must be a string, got ${typeof value}`);
  return value;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(`The \`${name}\` option must be a boolean, got ${typeof value}`);
  return value;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(`The \`${name}\` option must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`The \`${name}\` option must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

function stringArray(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new InvalidOptionError(`The \`${name}\` option must be an array of strings`);
  }
  return Object.freeze(value.slice());
}

function fn<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(`The \`${name}\` option must be a function`);
  return value;
}

function replaceOption(value: unknown): NormalizedOptions['replace'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return Object.freeze({ graceMs: 10_000, killAfterMs: 10_000 });
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('The `replace` option must be a boolean or { graceMs, killAfterMs }');
  const { graceMs, killAfterMs } = value as ReplaceOptions;
  const grace = graceMs === undefined ? 10_000 : nonNegative('replace.graceMs', graceMs);
  return Object.freeze({ graceMs: grace, killAfterMs: killAfterMs === undefined ? grace : nonNegative('replace.killAfterMs', killAfterMs) });
}

function slotsOption(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_SLOTS) {
    throw new InvalidOptionError(`The \`slots\` option must be an integer from 1 to ${MAX_SLOTS}, got ${String(value)}`);
  }
  return value as number;
}

function abortSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new InvalidOptionError('The `signal` option must be an AbortSignal');
  return value;
}

function uid(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > 0xfffffffe) {
    throw new InvalidOptionError(`The \`${name}\` option must be a uid (an integer from 0 to 4294967294), got ${String(value)}`);
  }
  return value as number;
}

function uidArray(name: string, value: unknown): readonly number[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(`The \`${name}\` option must be an array of uids`);
  return Object.freeze(value.map((item: unknown) => uid(name, item)));
}
