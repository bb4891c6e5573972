import { backendFor, slotName } from './backends/registry.js';
import { send } from './client/send.js';
import { InvalidOptionError, LockBusyError, LockTimeoutError, OnlyoneError, setForwarder } from './errors.js';
import type { Holder } from './holder/types.js';
import { markSquatted, squatterUid, squattedError } from './identity/squatting.js';
import { Lock } from './lock.js';
import type { RunRecord } from './once-per/record.js';
import { normalizeOptions, type AcquireOptions, type NormalizedOptions, type StatusOptions } from './options.js';

/**
 * Acquires the lock `name`. Fails fast by default; with `wait: true` it waits, without polling, until the
 * holder releases or dies.
 *
 * @example
 * ```ts
 * await using lock = await acquire('nightly-backup', { wait: true, timeoutMs: 60_000 });
 * ```
 * @throws LockBusyError (`ERR_LOCK_BUSY`) when held and `wait` is off; `holder` says who holds it.
 * @throws LockTimeoutError (`ERR_LOCK_TIMEOUT`) when `timeoutMs` passes while waiting.
 * @throws InvalidLockNameError (`ERR_INVALID_LOCK_NAME`) for a malformed or too long name.
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option.
 * @throws UnsupportedError (`ERR_UNSUPPORTED_RUNTIME`, `ERR_UNSUPPORTED_PLATFORM`) where the backend cannot work.
 * Aborting `signal` rejects with `signal.reason`.
 */
export async function acquire(name: string, options?: AcquireOptions): Promise<Lock> {
  return acquireWith(name, options, true);
}

/**
 * Acquires the lock if it is free right now; resolves undefined if it is held. Never waits.
 *
 * @example
 * ```ts
 * const lock = await tryAcquire('indexer');
 * if (lock === undefined) process.exit(0);
 * ```
 * @throws the errors of `acquire`, except LockBusyError and LockTimeoutError.
 */
export async function tryAcquire(name: string, options?: Omit<AcquireOptions, 'wait' | 'timeoutMs'>): Promise<Lock | undefined> {
  try {
    return await acquireWith(name, { ...options, wait: false }, false);
  } catch (error) {
    if (error instanceof LockBusyError) return undefined;
    throw error;
  }
}

/**
 * Runs `fn` while holding `name`, and releases the lock however `fn` ends.
 *
 * @example
 * ```ts
 * const report = await withLock('report', (lock) => build({ signal: lock.signal }), { wait: true });
 * ```
 * @throws the errors of `acquire`, and whatever `fn` throws.
 */
export async function withLock<T>(name: string, fn: (lock: Lock) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
  const lock = await acquire(name, options);
  try {
    return await fn(lock);
  } catch (error) {
    lock.recordExit(1);
    throw error;
  } finally {
    await lock.release();
  }
}

/**
 * Says who holds `name`, or undefined when it is free. Acquires nothing.
 *
 * @example
 * ```ts
 * const holder = await status('nightly-backup');
 * if (holder) console.log(`running as pid ${holder.pid} for ${holder.heldForMs} ms`);
 * ```
 * @throws LockSquattedError (`ERR_LOCK_SQUATTED`) when the kernel shows the holder with a uid other than
 * `expectedUid` (or, in user scope, than ours); `holder` says who, with `squatted: true`.
 * @throws OsError (`ERR_OS`) when the system refuses the lookup (out of descriptors, /proc unreadable).
 * @throws InvalidLockNameError, InvalidOptionError, UnsupportedError.
 */
export async function status(name: string, options?: StatusOptions): Promise<Holder | undefined> {
  const normalized = normalizeOptions(options);
  return checked(name, await backendFor(normalized).status(name, normalized), normalized);
}

/** The holder, marked, or LockSquattedError when it is a squatter. */
function checked(name: string, holder: Holder | undefined, options: NormalizedOptions): Holder | undefined {
  const foreign = squatterUid(holder, options);
  if (foreign !== undefined) throw squattedError(name, foreign, holder, options);
  return holder === undefined ? undefined : markSquatted(holder, options);
}

/**
 * Lists every lock held in the options' scope (the current user's by default), with its holder.
 *
 * @example
 * ```ts
 * for (const holder of await list()) console.log(holder.name, holder.pid);
 * ```
 * Where a uid is required (`expectedUid`, or ours in user scope), each holder has `squatted` set; none is left out.
 * @throws OsError (`ERR_OS`) when the system refuses the lookup (out of descriptors, /proc unreadable).
 * @throws InvalidOptionError, UnsupportedError.
 */
export async function list(options?: StatusOptions): Promise<Holder[]> {
  const normalized = normalizeOptions(options);
  return (await backendFor(normalized).list(normalized)).map((holder) => markSquatted(holder, normalized));
}

/**
 * Says who holds each of the `slots` locks of `name` (`NAME#0` ... `NAME#<slots-1>`): an array indexed
 * by slot, undefined where a slot is free.
 *
 * @example
 * ```ts
 * const busy = (await statusSlots('workers', 4)).filter(Boolean).length;
 * ```
 * @throws LockSquattedError when a slot's holder is a squatter (see `status`).
 * @throws InvalidLockNameError when a slot name does not fit, InvalidOptionError, OsError, UnsupportedError.
 */
export async function statusSlots(name: string, slots: number, options?: StatusOptions): Promise<Array<Holder | undefined>> {
  const normalized = normalizeOptions({ ...options, slots });
  const backend = backendFor(normalized);
  const names = Array.from({ length: slots }, (_, index) => slotName(name, index));
  return Promise.all(names.map(async (slot) => checked(slot, await backend.status(slot, normalized), normalized)));
}

/**
 * The last run of `name` taken with `oncePer`, as its backend recorded it (`lockfile`, `postgres`), or undefined
 * when it never ran that way. Times are the backend's clock.
 *
 * @example
 * ```ts
 * const run = await lastRun('report', { backend: 'postgres', url });
 * if (run?.exit !== 0) alert(`report failed on ${run?.hostname}`);
 * ```
 * @throws InvalidOptionError on a backend that keeps no records (`abstract`), InvalidLockNameError, BackendError.
 */
export async function lastRun(name: string, options?: StatusOptions): Promise<RunRecord | undefined> {
  const normalized = normalizeOptions(options);
  const backend = backendFor(normalized);
  if (backend.lastRun === undefined) throw new InvalidOptionError(`The '${backend.kind}' backend keeps no run records; 'lockfile' and 'postgres' do`);
  return backend.lastRun(name, normalized);
}

async function acquireWith(name: string, options: AcquireOptions | undefined, describeHolder: boolean): Promise<Lock> {
  const plain = normalizeOptions(options);
  // Loaded only for oncePer and coalesce: a plain acquire never pays for it.
  const schedule = plain.oncePer === undefined && !plain.coalesce ? undefined : await import('./once-per/begin.js');
  const normalized = schedule === undefined ? plain : schedule.withRerunQueue(plain);
  if (normalized.replace !== undefined && normalized.slots !== undefined) throw new InvalidOptionError('The `replace` and `slots` options cannot be used together');
  const backend = backendFor(normalized);
  schedule?.checkOncePer(backend, normalized);
  const timeout = normalized.wait && normalized.timeoutMs !== undefined ? AbortSignal.timeout(normalized.timeoutMs) : undefined;
  const signals = [normalized.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  try {
    const inner = await backend.acquire({ name, options: normalized, signal, describeHolder });
    const run = await schedule?.startRun(backend, name, normalized, inner);
    const reruns = await schedule?.startReruns(backend, name, normalized, inner);
    return new Lock(name, normalized.scope, backend.kind, inner, { run, minHoldMs: normalized.minHoldMs, reruns });
  } catch (error) {
    if (error instanceof LockBusyError) {
      // The loser can forward to the holder that refused it (slot 0's, with slots) in one call.
      const target = normalized.slots === undefined ? name : slotName(name, error.holder?.slot ?? 0);
      const { scope, prefix, backend, dir, expectedUid } = normalized;
      const where = { scope, prefix, backend, ...(dir === undefined ? {} : { dir }), ...(expectedUid === undefined ? {} : { expectedUid }) };
      setForwarder(error, (data, forward) => send(target, data, { maxMessageBytes: normalized.maxMessageBytes, ...forward, ...where }));
    }
    if (timeout?.aborted === true && normalized.signal?.aborted !== true && !(error instanceof OnlyoneError)) {
      const holder = await backend.status(normalized.slots === undefined ? name : slotName(name, 0), normalized).catch(() => undefined);
      throw new LockTimeoutError(name, normalized.timeoutMs ?? 0, holder);
    }
    throw error;
  }
}
