import { LockSquattedError } from '../errors.js';
import type { Holder } from '../holder/types.js';
import type { NormalizedOptions } from '../options.js';
import { userName } from './proc.js';

/**
 * The uid a holder of this lock must have, or undefined when any uid may hold it: `expectedUid` when set,
 * else our own uid in user scope (the address carries it), else anyone (system scope).
 * @internal
 */
export function requiredUid(options: NormalizedOptions): number | undefined {
  if (options.expectedUid !== undefined) return options.expectedUid;
  return options.scope === 'user' ? (process.getuid?.() ?? undefined) : undefined;
}

/**
 * The foreign uid the kernel shows holding the lock, when that makes `holder` a squatter under `options`;
 * undefined when it may hold the lock, or when its uid is only a claim (`verified: false`).
 * @internal
 */
export function squatterUid(holder: Holder | undefined, options: NormalizedOptions): number | undefined {
  const required = requiredUid(options);
  if (required === undefined || holder === undefined || !holder.verified || holder.uid < 0) return undefined;
  return holder.uid === required ? undefined : holder.uid;
}

/**
 * `holder` with `squatted` set, where a uid is required (see `requiredUid`) and the kernel can tell.
 * @internal
 */
export function markSquatted(holder: Holder, options: NormalizedOptions): Holder {
  if (requiredUid(options) === undefined) return holder;
  return { ...holder, squatted: squatterUid(holder, options) !== undefined };
}

/**
 * Before acting on a holder (a release request, a signal, a message): throws LockSquattedError when it is a
 * squatter, and, when `expectedUid` is set, also when its uid cannot be confirmed by the kernel, since
 * acting on an unconfirmed holder is what `expectedUid` exists to prevent.
 * @throws LockSquattedError as above.
 * @internal
 */
export function assertMayActOn(name: string, holder: Holder | undefined, options: NormalizedOptions): void {
  const foreign = squatterUid(holder, options);
  if (foreign !== undefined) throw squattedError(name, foreign, holder, options);
  if (options.expectedUid === undefined || holder === undefined || holder.verified) return;
  throw new LockSquattedError(
    name,
    holder,
    `Lock "${name}" is held by a process whose uid the kernel could not confirm (${holder.unverifiedReason ?? 'unverified'}), ` +
      `and only uid ${options.expectedUid} is expected to hold it (the expectedUid option): nothing was sent or signalled.`,
  );
}

/**
 * The error for a lock held by a foreign uid the kernel confirmed.
 * @internal
 */
export function squattedError(name: string, uid: number, holder: Holder | undefined, options: NormalizedOptions): LockSquattedError {
  const user = userName(uid);
  const who = `uid ${uid}${user === undefined ? '' : ` (${user})`}`;
  const pid = holder !== undefined && holder.pid > 0 ? `, pid ${holder.pid}` : '';
  const expected = requiredUid(options) ?? -1;
  const expectedUser = userName(expected);
  const wanted = `uid ${expected}${expectedUser === undefined ? '' : ` (${expectedUser})`}`;
  const why =
    options.expectedUid !== undefined
      ? `only ${wanted} is expected to hold it (the expectedUid option)`
      : `this is ${wanted}'s user-scope lock`;
  const marked = holder === undefined ? undefined : { ...holder, squatted: true };
  return new LockSquattedError(
    name,
    marked,
    `Lock "${name}" is squatted: the kernel reports it is held by ${who}${pid}, but ${why}. ` +
      'Abstract socket names have no permissions, so any local user can bind a name first; this is not "already running". ' +
      'See "Security model" in the README.',
  );
}
