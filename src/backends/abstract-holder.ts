import { HolderConnection } from '../client/holder-connection.js';
import { holderFromHello } from '../holder/hello.js';
import type { Holder } from '../holder/types.js';
import { confirmHolder, type IdentityCache } from '../identity/holder-identity.js';
import { closePidfd, credentialsAvailable, peerCredentials, peerPidfd, type PeerCredentials } from '../identity/peercred.js';
import { pidfdPid, processAlive } from '../identity/proc.js';
import { boundInode } from '../identity/socket-holders.js';
import { isAbstractBound } from '../proc/net-unix.js';

/** The backend name abstract-socket holders report. @internal */
export const KIND = 'abstract';

/**
 * How long to wait for a hello when the process that bound the lock has exited: the socket lives on in
 * processes that inherited it (a CLI child on fd 3), which do not serve the protocol. Any hello already
 * queued is read at once.
 * @internal
 */
export const ORPHAN_HELLO_MS = 50;

/** True when the process that bound the socket (SO_PEERCRED) has exited. @internal */
export function binderGone(credentials: PeerCredentials | undefined, pidfd: number | undefined): boolean {
  if (credentials === undefined || credentials.pid <= 0) return false;
  return pidfd === undefined ? !processAlive(credentials.pid) : pidfdPid(pidfd) === -1;
}

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
  const result = (found: Holder | undefined, boundUid?: number): { holder: Holder | undefined; boundUid: number | undefined } => ({ holder: found, boundUid });
  const outcome = await HolderConnection.open(address);
  if (!outcome.ok) {
    if (outcome.code === 'EAGAIN') return result(silentHolder('the holder is not accepting connections (backlog full)'));
    if (!(await isAbstractBound(address))) return result(undefined);
    // Bound but not listening: nobody can connect, but /proc can still say who holds the socket.
    const silentReason = 'the name is bound by a socket that does not listen';
    const inode = await boundInode(address);
    const found = inode === undefined ? undefined : await confirmHolder({ address, backend: KIND, credentials: undefined, pidfd: undefined, claimed: undefined, silentReason, inode }, cache);
    return result(found ?? silentHolder(silentReason));
  }
  const { connection } = outcome;
  let pidfd: number | undefined;
  try {
    // Credentials first: they describe the socket, whatever the holder says or does next.
    const fd = connection.fd;
    const credentials = fd === undefined ? undefined : await peerCredentials(fd);
    pidfd = fd === undefined || credentials === undefined ? undefined : await peerPidfd(fd);
    let claimed: Holder | undefined;
    let silentReason = 'the holder sent a malformed hello';
    try {
      claimed = holderFromHello(await connection.hello(binderGone(credentials, pidfd) ? Math.min(helloTimeoutMs, ORPHAN_HELLO_MS) : helloTimeoutMs), KIND);
    } catch (error) {
      silentReason = (error as Error).message;
    }
    connection.close();
    return result(await confirmHolder({ address, backend: KIND, credentials, pidfd, claimed, silentReason }, cache), credentials?.uid);
  } finally {
    connection.close();
    if (pidfd !== undefined) closePidfd(pidfd);
  }
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
  return { name: '', scope: '', pid: 0, uid: -1, hostname: '', argv: [], cwd: '', acquiredAt: 0, heldForMs: 0, protocol: 0, verified: false, unverifiedReason: reason, backend: KIND };
}

