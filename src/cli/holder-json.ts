import type { Holder } from '../index.js';
import { identified, userOf } from './format.js';

/**
 * One lock as JSON for `status --json` and `list --json`: every field of the library's `Holder`, and every key
 * always present (null when unknown), so scripts can rely on the shape. Documented in the README ("JSON output").
 * @internal
 */
export interface HolderJson {
  /** The lock's full name: `NAME#k` for slot k. */
  readonly name: string;
  readonly scope: string;
  /** Slot index when the lock is one of `--slots`; else null. */
  readonly slot: number | null;
  readonly held: boolean;
  readonly backend: string | null;
  readonly pid: number | null;
  readonly uid: number | null;
  readonly user: string | null;
  readonly hostname: string | null;
  readonly argv: readonly string[];
  readonly cmdline: readonly string[] | null;
  readonly cwd: string | null;
  readonly acquiredAt: string | null;
  readonly heldForMs: number | null;
  /** Process start time in clock ticks since boot, for pid-reuse checks. */
  readonly startTime: number | null;
  /** Every process found holding the lock, when they had to be looked up; else null. */
  readonly holderPids: readonly number[] | null;
  /** Protocol version the holder speaks; 0 when it did not identify itself. */
  readonly protocol: number | null;
  /** When `protocol` is 0: what is known instead (backlog full, no hello, inherited by a command). */
  readonly silentReason: string | null;
  readonly verified: boolean;
  readonly unverifiedReason: string | null;
  readonly fence: string | null;
  /** True when the kernel shows a holder whose uid is not `expectedUid`. */
  readonly squatted: boolean;
  /** The uid that must hold the lock: `--expect-user`, or ours in user scope; null when any uid may. */
  readonly expectedUid: number | null;
}

/**
 * The stable JSON form of a lock. `name` is the full lock name (`NAME#k` for a slot), `expectedUid` the uid
 * required of its holder, or null.
 * @internal
 */
export function holderJson(name: string, scope: string, holder: Holder | undefined, expectedUid: number | undefined): HolderJson {
  const known = holder !== undefined && identified(holder);
  return {
    name,
    scope,
    slot: holder?.slot ?? null,
    held: holder !== undefined,
    backend: holder?.backend ?? null,
    pid: known ? holder.pid : null,
    uid: known && holder.uid >= 0 ? holder.uid : null,
    user: known ? (userOf(holder) ?? null) : null,
    hostname: known && holder.hostname !== '' ? holder.hostname : null,
    argv: known ? holder.argv : [],
    cmdline: known ? (holder.cmdline ?? null) : null,
    cwd: known && holder.cwd !== '' ? holder.cwd : null,
    acquiredAt: known && holder.acquiredAt > 0 ? new Date(holder.acquiredAt).toISOString() : null,
    heldForMs: known ? holder.heldForMs : null,
    startTime: known ? (holder.startTime ?? null) : null,
    holderPids: holder?.holderPids ?? null,
    protocol: holder === undefined ? null : holder.protocol,
    silentReason: holder?.silentReason ?? null,
    verified: holder?.verified ?? false,
    unverifiedReason: holder === undefined || holder.verified ? null : (holder.unverifiedReason ?? null),
    fence: holder?.fence ?? null,
    squatted: holder?.squatted === true,
    expectedUid: expectedUid ?? null,
  };
}

/** The full name of the lock a holder holds: `NAME#k` for slot k. @internal */
export function lockNameOf(holder: Holder): string {
  return holder.slot === undefined ? holder.name : `${holder.name}#${holder.slot}`;
}

/** The uid the command line requires of a holder: `--expect-user`, else ours in user scope. @internal */
export function requiredUidOf(lock: { readonly scope: string; readonly expectedUid: number | undefined }): number | undefined {
  return lock.expectedUid ?? (lock.scope === 'user' ? process.getuid?.() : undefined);
}
