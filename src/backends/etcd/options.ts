import { InvalidOptionError } from '../../errors.js';

/** Options of the `etcd` backend (its `url` is the shared `url` option). Every other backend ignores them. */
export interface EtcdOptions {
  /**
   * TTL of the lock's etcd lease, in whole seconds (default 10). A holder keeps it alive every TTL/3; a holder that
   * is stopped, hung or cut off loses the lock after it, and a SIGKILLed holder's lock is freed by etcd after it.
   * etcd may raise it to its minimum (1.5 × its election timeout, rounded up).
   */
  readonly ttlSeconds?: number;
}

/** The etcd options after defaults and validation. @internal */
export interface NormalizedEtcdOptions {
  readonly ttlSeconds: number;
}

/** A year: past that a lost holder would block everyone for longer than any operator would wait. */
const MAX_TTL_SECONDS = 365 * 24 * 3600;

/**
 * Fills in and checks the etcd options.
 * @throws InvalidOptionError naming the option.
 * @internal
 */
export function normalizeEtcdOptions(options: EtcdOptions): NormalizedEtcdOptions {
  const { ttlSeconds } = options;
  if (ttlSeconds === undefined) return { ttlSeconds: 10 };
  if (typeof ttlSeconds !== 'number' || !Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new InvalidOptionError(`The \`ttlSeconds\` option must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}, got ${String(ttlSeconds)}`);
  }
  return { ttlSeconds };
}
