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
  return new LockSquattedError(
    name,
    holder,
    `Lock "${name}" is squatted: the kernel reports it is held by ${who}${pid}, but ${why}. ` +
      'Abstract socket names have no permissions, so any local user can bind a name first; this is not "already running". ' +
      'See "Security model" in the README.',
  );
}
