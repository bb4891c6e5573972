import { HolderConnection } from '../../client/holder-connection.js';
import type { Holder } from '../../holder/types.js';
import { confirmHolder, type IdentityCache } from '../../identity/holder-identity.js';
import { credentialsAvailable, peerCredentials } from '../../identity/peercred.js';
import { boundInode } from '../../identity/socket-holders.js';
import { isAbstractBound } from '../../proc/net-unix.js';
import { ORPHAN_HELLO_MS, binderGone, identifyConnection, silentHolder as anySilentHolder } from '../socket/holder.js';

export { ORPHAN_HELLO_MS, binderGone };

/** The backend name abstract-socket holders report. @internal */
export const KIND = 'abstract';

/**
 * Says who holds `address`, checked against the kernel (see `confirmHolder`). Undefined when nothing
 * listens there. A holder that accepts but never says hello (the lock fd was handed to a child that does not
 * speak the protocol) is identified from /proc. `cache` shares /proc reads across the locks of one `list`.
 * @internal
 */
export async function readHolder(address: string, helloTimeoutMs: number, cache?: IdentityCache): Promise<Holder | undefined> {
  return (await inspectHolder(address, helloTimeoutMs, cache)).holder;
}

/** `readHolder`, plus the uid the kernel says bound the socket (SO_PEERCRED) when koffi could read it. @internal */
export async function inspectHolder(address: string, helloTimeoutMs: number, cache?: IdentityCache): Promise<{ holder: Holder | undefined; boundUid: number | undefined }> {
  const outcome = await HolderConnection.open(address);
  if (outcome.ok) {
    const { holder, boundUid: uid } = await identifyConnection(outcome.connection, address, KIND, helloTimeoutMs, cache);
    return { holder, boundUid: uid };
  }
  if (outcome.code === 'EAGAIN') return { holder: silentHolder('the holder is not accepting connections (backlog full)'), boundUid: undefined };
  if (!(await isAbstractBound(address))) return { holder: undefined, boundUid: undefined };
  // Bound but not listening: nobody can connect, but /proc can still say who holds the socket.
  const silentReason = 'the name is bound by a socket that does not listen';
  const inode = await boundInode(address);
  const found = inode === undefined ? undefined : await confirmHolder({ address, backend: KIND, credentials: undefined, pidfd: undefined, claimed: undefined, silentReason, inode }, cache);
  return { holder: found ?? silentHolder(silentReason), boundUid: undefined };
}

/** The uid that bound `address`, from SO_PEERCRED; undefined without koffi or when nothing listens. @internal */
export async function boundUid(address: string): Promise<number | undefined> {
  if (!(await credentialsAvailable())) return undefined;
  const outcome = await HolderConnection.open(address);
  if (!outcome.ok) return undefined;
  try {
    const fd = outcome.connection.fd;
    return fd === undefined ? undefined : (await peerCredentials(fd))?.uid;
  } finally {
    outcome.connection.close();
  }
}

/** A holder nothing could be learned about. @internal */
export function silentHolder(reason: string): Holder {
  return anySilentHolder(reason, KIND);
}
