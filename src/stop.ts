import { abstractAddress } from './address.js';
import { backendFor } from './backends/registry.js';
import { bindReplacing, type ReplaceStage } from './backends/socket/replace.js';
import { InvalidOptionError } from './errors.js';
import { normalizeOptions, type LockOptions, type ReplaceOptions } from './options.js';
import { assertAbstractSupported } from './runtime.js';

/** Options of `stop()`. */
export interface StopOptions extends LockOptions, ReplaceOptions {
  /** Aborting it stops escalating; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** How `stop()` ended: nobody held the lock, or its holder released on request, or was SIGTERMed, or SIGKILLed. */
export type StopOutcome = 'not-held' | Exclude<ReplaceStage, 'free'>;

/**
 * Stops the instance holding `name`, as `acquire(name, { replace })` would, without keeping the lock: a
 * release request, `graceMs` (default 10 s), SIGTERM to the processes verified to hold the lock's socket
 * (on `lockfile`, its socket or its flock; never any other), `killAfterMs` (default `graceMs`), SIGKILL.
 * The lock is taken for an instant at the end, to be sure it is free, then released.
 *
 * @example
 * ```ts
 * const how = await stop('indexer', { graceMs: 5000 }); // 'not-held' | 'released' | 'terminated' | 'killed'
 * ```
 * @throws LockBusyError (`ERR_LOCK_BUSY`) when no process could be verified as the holder (nothing is
 * signalled then), when another process takes the lock meanwhile, or when the holder survives SIGKILL.
 * @throws InvalidLockNameError, InvalidOptionError (a backend that cannot stop, such as `postgres`), UnsupportedError.
 */
export async function stop(name: string, options?: StopOptions): Promise<StopOutcome> {
  const { graceMs, killAfterMs, signal, ...lock } = options ?? {};
  const replace = { ...(graceMs === undefined ? {} : { graceMs }), ...(killAfterMs === undefined ? {} : { killAfterMs }) };
  const normalized = normalizeOptions({ ...lock, replace, ...(signal === undefined ? {} : { signal }) });
  const backend = backendFor(normalized);
  if (!backend.capabilities.replace) throw new InvalidOptionError(`The \`backend\` option '${normalized.backend}' does not support stop`);
  if (normalized.backend !== 'abstract') {
    // A lock that is more than a socket (lockfile: a flock too) is taken and released like any other.
    const lock = await backend.acquire({ name, options: normalized, signal: normalized.signal, describeHolder: true });
    await lock.release();
    return lock.replaced ?? 'not-held';
  }
  assertAbstractSupported();
  const address = abstractAddress(name, normalized.scope, normalized.prefix, process.getuid?.() ?? 0);
  const { server, stage } = await bindReplacing(
    { name, options: normalized, signal: normalized.signal, describeHolder: true },
    { address, describe: () => backend.status(name, normalized) },
  );
  // A waiter that connects in this instant must see its connection close, not hang on an unserved socket.
  server.on('connection', (socket) => socket.destroy());
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return stage === 'free' ? 'not-held' : stage;
}
