import type { Socket } from 'node:net';
import type { PeerIdentity } from '../holder/messages.js';
import { peerCredentials } from './peercred.js';
import { socketFd } from './socket-fd.js';

const unknownPeer: PeerIdentity = Object.freeze({ pid: undefined, uid: undefined, verified: false });

/**
 * Who connected to a holder: SO_PEERCRED of the accepted socket, i.e. the process that called connect().
 * Without koffi the peer is unverified, with pid and uid unknown: nothing else in /proc links an accepted
 * socket to its peer. Loads koffi on first use; the holder calls this only for requests that need it.
 * @internal
 */
export async function identifyPeer(socket: Socket): Promise<PeerIdentity> {
  const fd = socketFd(socket);
  if (fd === undefined) return unknownPeer;
  const credentials = await peerCredentials(fd);
  return credentials === undefined ? unknownPeer : Object.freeze({ pid: credentials.pid, uid: credentials.uid, verified: true });
}

/**
 * The holder's rule for requests other than hello and ping: the peer's uid must be verified and be the
 * holder's own, root's, or one of `allowUids`. An unverified peer is always refused.
 * @internal
 */
export function peerAuthorizer(allowUids: readonly number[]): (peer: PeerIdentity) => boolean {
  // Our uid is read now (a later setuid must not widen the rule); the set is built on the first request, off the
  // acquire path.
  const own = process.getuid?.();
  let allowed: Set<number> | undefined;
  return (peer) => {
    allowed ??= new Set([0, ...allowUids, ...(own === undefined ? [] : [own])]);
    return peer.verified && peer.uid !== undefined && allowed.has(peer.uid);
  };
}
