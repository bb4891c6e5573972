import type net from 'node:net';
import type { Holder } from '../../holder/types.js';
import { listenerInode } from '../../identity/socket-holders.js';
import { replaceHolder, type HolderToReplace, type ReplaceStage } from './replace-holder.js';
import { signalSocketHolders } from './signal-holders.js';
import { bindExclusive } from './lock.js';
import type { AcquireRequest } from '../types.js';

export type { ReplaceStage };

/** The listening socket's inode, or undefined when /proc cannot tell (unreadable, ambiguous, gone). */
function inodeOf(address: string): Promise<number | undefined> {
  return listenerInode(address);
}

/** What replacing an abstract-socket holder needs from the backend. @internal */
export interface ReplaceTarget {
  readonly address: string;
  /** Reads the holder, for LockBusyError. */
  readonly describe: () => Promise<Holder | undefined>;
}

/** A bound server and how it was obtained. @internal */
export interface Replaced {
  readonly server: net.Server;
  readonly stage: ReplaceStage;
}

/**
 * The holder of the abstract `address` as /proc/net/unix shows it now: the processes holding its listening
 * socket's inode. Undefined when no listening socket holds the name there.
 * @internal
 */
export async function socketHolderAt(address: string): Promise<HolderToReplace | undefined> {
  const inode = await inodeOf(address);
  if (inode === undefined) return undefined;
  return {
    supplanted: async () => {
      const now = await inodeOf(address);
      return now !== undefined && now !== inode;
    },
    signal: async (which) => (await signalSocketHolders(inode, which)).signalled,
  };
}

/**
 * Binds `address`, replacing its holder if needed (see `replaceHolder`): the processes signalled are those
 * holding the listening socket's inode. Resolves with the bound server.
 * @internal
 */
export async function bindReplacing(request: AcquireRequest, target: ReplaceTarget): Promise<Replaced> {
  const { taken, stage } = await replaceHolder(request, {
    ...target,
    take: () => bindExclusive(target.address),
    identify: () => socketHolderAt(target.address),
    unidentified: 'no listening socket holds the name in /proc/net/unix (a socket that never listens, or an ambiguous printed name)',
  });
  return { server: taken, stage };
}
