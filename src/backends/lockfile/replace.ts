import { pidHoldsInode, pidsHoldingInode, listenerInode } from '../../identity/socket-holders.js';
import type { NormalizedOptions } from '../../options.js';
import { fileIdOf, flockLockers, pidHoldsFlock, pidsHoldingFlock, type FileId } from '../../proc/locks.js';
import { replaceHolder, type HolderToReplace } from '../socket/replace-holder.js';
import { signalHolders, type HolderProbe } from '../socket/signal-holders.js';
import { lockfileHolder } from './holder.js';
import { hold } from './lock.js';
import { takeFlock } from './open.js';
import type { LockfilePaths } from './paths.js';
import type { AcquireRequest, BackendLock } from '../types.js';

/** What identifies one holding of a lockfile lock: the socket it listens on, and who took the flock. */
interface LockfileHolding {
  /** The inode of the socket listening at `NAME.sock`; undefined when none (a flock(1) holder). */
  readonly inode: number | undefined;
  readonly file: FileId | undefined;
  /** The pids /proc/locks names for the flock: the process that took it, even if it handed the fd on. */
  readonly lockers: readonly number[];
}

async function holdingNow(paths: LockfilePaths): Promise<LockfileHolding> {
  const inode = await listenerInode(paths.sock);
  const file = fileIdOf(paths.lock);
  const lockers = file === undefined ? [] : ((await flockLockers(file)) ?? []);
  return { inode, file, lockers };
}

/**
 * The processes that hold this holding: those with a descriptor on its listening socket, and those whose
 * descriptor shares the flock its lockers took (fdinfo), inherited ones included. A process that merely has
 * the lock file open, or waits for the flock, is not among them.
 */
function holdingProbe({ inode, file, lockers }: LockfileHolding): HolderProbe {
  const flock = file !== undefined && lockers.length > 0 ? file : undefined;
  return {
    pids: async () => {
      const [bySocket, byFlock] = await Promise.all([inode === undefined ? [] : pidsHoldingInode(inode), flock === undefined ? [] : pidsHoldingFlock(flock, lockers)]);
      return [...new Set([...bySocket, ...byFlock])].sort((a, b) => a - b);
    },
    holds: async (pid) => {
      const bySocket = inode === undefined ? false : await pidHoldsInode(pid, inode);
      if (bySocket === true) return true;
      const byFlock = flock === undefined ? false : await pidHoldsFlock(pid, flock, lockers);
      if (byFlock === true) return true;
      return bySocket === undefined || byFlock === undefined ? undefined : false;
    },
  };
}

/**
 * The holder of a lockfile lock as /proc shows it now. Another holder has supplanted it once a different
 * socket listens at `NAME.sock`, or the flock was taken by other processes. Undefined when neither a listening
 * socket nor a flock can be found.
 * @internal
 */
export async function lockfileHolding(paths: LockfilePaths): Promise<HolderToReplace | undefined> {
  const was = await holdingNow(paths);
  if (was.inode === undefined && was.lockers.length === 0) return undefined;
  const probe = holdingProbe(was);
  return {
    supplanted: async () => {
      const now = await holdingNow(paths);
      if (was.inode !== undefined && now.inode !== undefined && now.inode !== was.inode) return true;
      return was.lockers.length > 0 && now.lockers.length > 0 && !now.lockers.some((pid) => was.lockers.includes(pid));
    },
    signal: async (which) => (await signalHolders(probe, which)).signalled,
  };
}

/**
 * Takes the lockfile lock at `paths`, replacing its holder if needed (see `replaceHolder`): the processes
 * signalled are those verified to hold `NAME.sock`'s listening socket or `NAME.lock`'s flock, never any other.
 * @internal
 */
export async function acquireReplacing(request: AcquireRequest, paths: LockfilePaths, options: NormalizedOptions): Promise<BackendLock> {
  const { name } = request;
  const { taken, stage } = await replaceHolder(request, {
    address: paths.sock,
    describe: () => lockfileHolder(name, paths, options, false),
    take: async () => {
      const fd = await takeFlock(paths, options.scope);
      return fd === undefined ? undefined : hold(fd, paths, name, options);
    },
    identify: () => lockfileHolding(paths),
    unidentified: `neither a listening socket at ${paths.sock} nor a flock on ${paths.lock} shows in /proc`,
  });
  return stage === 'free' ? taken : Object.assign(taken, { replaced: stage });
}
