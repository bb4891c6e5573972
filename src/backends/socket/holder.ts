import type { HolderConnection } from '../../client/holder-connection.js';
import { holderFromHello } from '../../holder/hello.js';
import type { Holder } from '../../holder/types.js';
import { confirmHolder, type IdentityCache } from '../../identity/holder-identity.js';
import { closePidfd, peerCredentials, peerPidfd, type PeerCredentials } from '../../identity/peercred.js';
import { pidfdPid, processAlive } from '../../identity/proc.js';

/**
 * How long to wait for a hello when the process that bound the lock has exited: the socket lives on in
 * processes that inherited it (a CLI child on fd 3), which do not serve the protocol. Any hello already
 * queued is read at once.
 * @internal
 */
export const ORPHAN_HELLO_MS = 50;

/**
 * A holder known only to exist: it did not (or could not) say who it is. pid 0, uid -1, `verified: false`.
 * @internal
 */
export function silentHolder(reason: string, backend: string, name = '', scope = ''): Holder {
  return { name, scope, pid: 0, uid: -1, hostname: '', argv: [], cwd: '', acquiredAt: 0, heldForMs: 0, protocol: 0, silentReason: reason, verified: false, unverifiedReason: reason, backend };
}

/** True when the process that bound the socket (SO_PEERCRED) has exited. @internal */
export function binderGone(credentials: PeerCredentials | undefined, pidfd: number | undefined): boolean {
  if (credentials === undefined || credentials.pid <= 0) return false;
  return pidfd === undefined ? !processAlive(credentials.pid) : pidfdPid(pidfd) === -1;
}

/** What one connection to a holder's socket showed, checked against the kernel. @internal */
export interface IdentifiedHolder {
  /** The holder as the kernel confirms it (see `confirmHolder`); undefined when /proc no longer shows the listener. */
  readonly holder: Holder | undefined;
  /** What the hello claimed, checked or not; undefined when there was no (well-formed) hello. */
  readonly claimed: Holder | undefined;
  /** The uid that called listen(), from SO_PEERCRED; undefined without koffi. */
  readonly boundUid: number | undefined;
}

/**
 * Identifies the holder at the other end of `connection` (to the socket `address`, abstract or a path):
 * SO_PEERCRED and SO_PEERPIDFD of our connecting socket first, since they describe the listener whatever it
 * says next, then its hello, then `confirmHolder`. Closes the connection.
 * @internal
 */
export async function identifyConnection(connection: HolderConnection, address: string, backend: string, helloTimeoutMs: number, cache?: IdentityCache): Promise<IdentifiedHolder> {
  let pidfd: number | undefined;
  try {
    const fd = connection.fd;
    const credentials = fd === undefined ? undefined : await peerCredentials(fd);
    pidfd = fd === undefined || credentials === undefined ? undefined : await peerPidfd(fd);
    let claimed: Holder | undefined;
    let silentReason = 'the holder sent a malformed hello';
    try {
      claimed = holderFromHello(await connection.hello(binderGone(credentials, pidfd) ? Math.min(helloTimeoutMs, ORPHAN_HELLO_MS) : helloTimeoutMs), backend);
    } catch (error) {
      silentReason = (error as Error).message;
    }
    connection.close();
    const holder = await confirmHolder({ address, backend, credentials, pidfd, claimed, silentReason }, cache);
    return { holder, claimed, boundUid: credentials?.uid };
  } finally {
    connection.close();
    if (pidfd !== undefined) closePidfd(pidfd);
  }
}

