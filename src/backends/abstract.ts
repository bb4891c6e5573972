import { abstractAddress, scopeSegment } from '../address.js';
import { HolderConnection } from '../client/holder-connection.js';
import { LockBusyError } from '../errors.js';
import { holderFromHello } from '../holder/hello.js';
import { confirmHolder, identityCache, type IdentityCache } from '../identity/holder-identity.js';
import { closePidfd, credentialsAvailable, peerCredentials, peerPidfd } from '../identity/peercred.js';
import { boundInode } from '../identity/socket-holders.js';
import { requiredUid, squattedError } from '../identity/squatting.js';
import type { Holder } from '../holder/types.js';
import type { NormalizedOptions } from '../options.js';
import { abstractListeners, addressReadings, isAbstractBound } from '../proc/net-unix.js';
import { assertAbstractSupported } from '../runtime.js';
import { SocketLock, bindExclusive } from './socket-lock.js';
import { waitForRelease, type WaitState } from './socket-wait.js';
import type { AcquireRequest, Backend, BackendLock } from './types.js';

const KIND = 'abstract';
/** Locks listed at once; each costs a connection and a hello. */
const LIST_CONCURRENCY = 64;

function addressOf(name: string, options: NormalizedOptions): string {
  assertAbstractSupported();
  return abstractAddress(name, options.scope, options.prefix, process.getuid?.() ?? 0);
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

/** `readHolder`, plus the uid the kernel says bound the socket (SO_PEERCRED) when koffi could read it. */
async function inspectHolder(address: string, helloTimeoutMs: number, cache?: IdentityCache): Promise<{ holder: Holder | undefined; boundUid: number | undefined }> {
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
      claimed = holderFromHello(await connection.hello(helloTimeoutMs), KIND);
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

/** The uid that bound `address`, from SO_PEERCRED; undefined without koffi or when nothing listens. */
async function boundUid(address: string): Promise<number | undefined> {
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

function silentHolder(reason: string): Holder {
  return { name: '', scope: '', pid: 0, uid: -1, hostname: '', argv: [], cwd: '', acquiredAt: 0, heldForMs: 0, protocol: 0, verified: false, unverifiedReason: reason, backend: KIND };
}

/** The Linux abstract-socket backend: the lock is a name in the kernel, freed the instant its holder dies. */
export const abstractBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: true, messaging: true, slots: false, fencing: false },

  async acquire(request: AcquireRequest): Promise<BackendLock> {
    const { name, options, signal } = request;
    const address = addressOf(name, options);
    const state: WaitState = { refusals: 0 };
    const required = requiredUid(options);
    let squatChecked = required === undefined;
    for (;;) {
      const server = await bindExclusive(address);
      if (server !== undefined) return new SocketLock({ server, address, name, options, backend: KIND });
      // Busy. Before reporting it or waiting on it, make sure the holder is not a foreign uid (a squatter).
      const checkSquat = !squatChecked && required !== undefined;
      squatChecked = true;
      if (!options.wait && request.describeHolder) {
        const { holder, boundUid: uid } = await inspectHolder(address, options.helloTimeoutMs);
        // The kernel's uid of the binder; without koffi, the uid /proc confirmed for a verified holder.
        const confirmed = uid ?? (holder?.verified === true && holder.uid >= 0 ? holder.uid : undefined);
        if (required !== undefined && confirmed !== undefined && confirmed !== required) throw squattedError(name, confirmed, holder, options);
        throw new LockBusyError(name, holder);
      }
      if (checkSquat) {
        const uid = await boundUid(address);
        if (uid !== undefined && uid !== required) throw squattedError(name, uid, await readHolder(address, options.helloTimeoutMs), options);
        if (uid === undefined) {
          // No credentials (no koffi, or a bound socket that does not listen): /proc may still confirm the uid.
          const known = await readHolder(address, options.helloTimeoutMs);
          if (known?.verified === true && known.uid >= 0 && known.uid !== required) throw squattedError(name, known.uid, known, options);
        }
      }
      if (!options.wait) throw new LockBusyError(name, undefined);
      await waitForRelease(address, options.pollIntervalMs, signal, state);
    }
  },

  async status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    const holder = await readHolder(addressOf(name, options), options.helloTimeoutMs);
    // A holder without hello (an inherited fd) cannot say which lock it holds; we know.
    return holder?.name === '' ? { ...holder, name, scope: options.scope } : holder;
  },

  async list(options: NormalizedOptions): Promise<Holder[]> {
    assertAbstractSupported();
    const scopePrefix = options.scope === 'system' ? `${options.prefix}${scopeSegment('system', 0)}/` : `${options.prefix}${scopeSegment('user', process.getuid?.() ?? 0)}/`;
    const listeners = await abstractListeners(scopePrefix);
    const holders: Holder[] = [];
    const cache = identityCache();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < listeners.length) {
        const listener = listeners[next++];
        if (listener === undefined) break;
        for (const address of addressReadings(listener.path)) {
          const holder = await readHolder(address, options.helloTimeoutMs, cache);
          if (holder === undefined) continue;
          const printedName = address.slice(1 + scopePrefix.length).replace(/\0+$/u, '');
          holders.push(holder.name === '' ? { ...holder, name: printedName, scope: options.scope } : holder);
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, listeners.length) }, worker));
    return holders.sort((a, b) => a.name.localeCompare(b.name));
  },
};
