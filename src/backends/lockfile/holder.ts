import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { HolderConnection } from '../../client/holder-connection.js';
import type { Holder } from '../../holder/types.js';
import type { IdentityCache } from '../../identity/holder-identity.js';
import type { NormalizedOptions } from '../../options.js';
import { fileIdOf, flockLockers, flockOwner, pidHoldsFlock } from '../../proc/locks.js';
import { processInfo } from '../../proc/process-info.js';
import { flockHeld } from './open.js';
import type { LockfilePaths } from './paths.js';
import { identifyConnection, silentHolder } from '../socket/holder.js';

/** The backend name lockfile holders report. @internal */
export const KIND = 'lockfile';

/**
 * Who holds `name`. When something serves `NAME.sock`, the holder is identified as on `abstract` (SO_PEERCRED
 * and SO_PEERPIDFD of our connecting socket, then the hello, then /proc) and, once verified, must also hold
 * the flock on `NAME.lock` as /proc/locks and fdinfo show it. When only the flock says it is held (flock(1), or
 * a child that inherited the lock), the process /proc/locks names, if it still has the file open, unverified;
 * else a silent holder. `knownHeld` skips the probe of the flock when the caller just failed to take it.
 * @internal
 */
export async function lockfileHolder(name: string, paths: LockfilePaths, options: NormalizedOptions, knownHeld: boolean, cache?: IdentityCache): Promise<Holder | undefined> {
  const named = (holder: Holder): Holder => (holder.name === '' ? { ...holder, name, scope: options.scope } : holder);
  const outcome = await HolderConnection.open(paths.sock);
  if (outcome.ok) {
    const { holder, claimed } = await identifyConnection(outcome.connection, paths.sock, KIND, options.helloTimeoutMs, cache);
    if (holder !== undefined) return named(holder.verified ? await checkFlockAgrees(holder, paths) : holder);
    // /proc/net/unix no longer shows the listener: released meanwhile, or it lives in another network namespace.
    if (claimed !== undefined && (await flockHeld(paths.lock))) {
      return named({ ...claimed, unverifiedReason: `${claimed.unverifiedReason ?? 'unconfirmed'}; the socket's listener is not in this network namespace's /proc/net/unix` });
    }
  } else if (outcome.code === 'EAGAIN') {
    return named(silentHolder('the holder is not accepting connections (backlog full)', KIND));
  }
  if (!knownHeld && !(await flockHeld(paths.lock))) return undefined;
  return flockOnlyHolder(name, paths, options);
}

/**
 * A holder the kernel verified through the socket also holds the lock only if it holds the flock on the
 * current `NAME.lock`: else the file was deleted and re-created under it, and someone else may hold the new one.
 * Unchanged where /proc/locks cannot be read (not Linux).
 */
async function checkFlockAgrees(holder: Holder, paths: LockfilePaths): Promise<Holder> {
  const file = fileIdOf(paths.lock);
  const lockers = file === undefined ? [] : await flockLockers(file);
  if (lockers === undefined) return holder;
  const serving = [holder.pid, ...(holder.holderPids ?? [])];
  if (lockers.some((pid) => serving.includes(pid))) return holder;
  // /proc/locks names the process that took the flock; one that inherited the descriptor shows in its fdinfo.
  if (file !== undefined && (await pidHoldsFlock(holder.pid, file, lockers)) === true) return holder;
  const why =
    lockers.length === 0
      ? `nobody holds the flock on ${paths.lock} (was it deleted and re-created under the holder?)`
      : `the flock on ${paths.lock} was taken by pid ${lockers.join(', ')}, not by a process serving the socket`;
  return { ...holder, verified: false, unverifiedReason: `pid ${holder.pid} serves ${paths.sock}, but ${why}` };
}

/** A holder of the flock that serves no socket: named from /proc/locks when it still has the file open, never verified. */
async function flockOnlyHolder(name: string, paths: LockfilePaths, options: NormalizedOptions): Promise<Holder> {
  const file = statSync(paths.lock, { throwIfNoEntry: false });
  const owner = file === undefined ? undefined : await flockOwner(file.dev, file.ino);
  const info = owner === undefined ? undefined : await processInfo(owner);
  const silent = silentHolder('the lock file is flock()ed by a process that serves no socket (flock(1), or a child that inherited the lock)', KIND, name, options.scope);
  if (info === undefined) return silent;
  return {
    ...silent,
    pid: info.pid,
    uid: info.uid,
    hostname: hostname(),
    argv: info.argv,
    cwd: info.cwd,
    ...(info.startTime === undefined ? {} : { startTime: info.startTime }),
    unverifiedReason: 'the holder serves no socket; its pid is the flock owner /proc/locks names, and it has the lock file open',
  };
}
