import { createHash } from 'node:crypto';
import { checkText, type Scope } from '../../address.js';

/**
 * The scope part of a PostgreSQL lock key: `sys` for `system`, `role:<role>` for `user`. Across machines a Unix
 * uid means nothing, so "per user" means per database role (the role the session logs in as).
 * @internal
 */
export function postgresScopeSegment(scope: Scope, role: string): string {
  return scope === 'system' ? 'sys' : `role:${role}`;
}

/**
 * The 64-bit advisory-lock key of a lock: the first 8 bytes of SHA-256 over the UTF-8 of
 * `prefix + segment + "/" + name`, read as a big-endian signed integer. Documented in docs/postgres.md so that
 * programs in other languages take the same lock.
 *
 * @example
 * ```ts
 * postgresLockKey('nightly', 'system', 'app', 'onlyone/v1/'); // sha256("onlyone/v1/sys/nightly")[0..8]
 * ```
 * @throws InvalidLockNameError when the name or prefix is malformed.
 * @internal
 */
export function postgresLockKey(name: string, scope: Scope, role: string, prefix: string): bigint {
  checkText('lock name', name);
  checkText('prefix', prefix, true);
  const digest = createHash('sha256').update(`${prefix}${postgresScopeSegment(scope, role)}/${name}`, 'utf8').digest();
  return digest.readBigInt64BE(0);
}

/** The two 32-bit halves PostgreSQL shows for a bigint advisory lock in pg_locks (`classid`, `objid`). @internal */
export function keyHalves(key: bigint): { readonly classid: string; readonly objid: string } {
  const unsigned = BigInt.asUintN(64, key);
  return { classid: String(unsigned >> 32n), objid: String(unsigned & 0xffff_ffffn) };
}
