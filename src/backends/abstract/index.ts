import { abstractAddress } from '../../address.js';
import type { HolderConnection } from '../../client/holder-connection.js';
import { LockBusyError } from '../../errors.js';
import { peerCredentials } from '../../identity/peercred.js';
import { requiredUid, squattedError } from '../../identity/squatting.js';
import type { Holder } from '../../holder/types.js';
import type { NormalizedOptions } from '../../options.js';
import { assertAbstractSupported } from '../../runtime.js';
import { KIND, boundUid, inspectHolder, readHolder } from './holder.js';
import { listHolders } from './list.js';
import { SocketLock, bindExclusive } from '../socket/lock.js';
import { bindReplacing } from '../socket/replace.js';
import { acquireSlot } from '../socket/slots.js';
import { stopSocketHolder } from '../socket/stop.js';
import { waitForRelease, type WaitState } from '../socket/wait.js';
import type { AcquireRequest, Backend, BackendLock, StopStage } from '../types.js';
import { isAbstractBound } from '../../proc/net-unix.js';
import { WaitingLine } from '../socket/waiting-line.js';

export { readHolder };

function addressOf(name: string, options: NormalizedOptions): string {
  assertAbstractSupported();
  return abstractAddress(name, options.scope, options.prefix, process.getuid?.() ?? 0);
}

/**
 * Throws LockSquattedError when the kernel shows a foreign uid holding `address`: `binderUid` from
 * SO_PEERCRED, or, without it (no koffi, or a socket that does not listen), a holder /proc confirmed.
 */
async function assertNotSquatted(name: string, address: string, options: NormalizedOptions, binderUid: number | undefined): Promise<void> {
  const required = requiredUid(options);
  if (required === undefined) return;
  if (binderUid !== undefined) {
    if (binderUid !== required) throw squattedError(name, binderUid, await readHolder(address, options.helloTimeoutMs), options);
    return;
  }
  const known = await readHolder(address, options.helloTimeoutMs);
  if (known?.verified === true && known.uid >= 0 && known.uid !== required) throw squattedError(name, known.uid, known, options);
}

/** The Linux abstract-socket backend: the lock is a name in the kernel, freed the instant its holder dies. */
export const abstractBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: true, messaging: true, slots: true, fencing: false, replace: true },

  async acquire(request: AcquireRequest): Promise<BackendLock> {
    const { name, options, signal } = request;
    if (options.slots !== undefined) return acquireSlot(request, { kind: KIND, addressOf, readHolder });
    const address = addressOf(name, options);
    if (options.replace !== undefined) {
      const { server, stage } = await bindReplacing(request, { address, describe: () => readHolder(address, options.helloTimeoutMs) });
      const lock = new SocketLock({ server, address, name, options, backend: KIND });
      return stage === 'free' ? lock : Object.assign(lock, { replaced: stage });
    }
    const state: WaitState = { refusals: 0 };
    // Read once the lock is found busy: a free lock needs neither.
    let required: number | undefined;
    let squatChecked: boolean | undefined;
    const line = new WaitingLine(options.prefix, address);
    let took = false;
    try {
      // A waiter queues behind those already waiting rather than try the lock first: a release belongs to the front of
      // the line. After waiting behind an earlier waiter, it looks at the line again before trying the lock: that
      // waiter may have left it just as the lock was handed to one further ahead.
      let lookFirst = options.wait && (await line.hasWaiters());
      for (;;) {
        const server = lookFirst ? undefined : await bindExclusive(address);
        lookFirst = false;
        if (server !== undefined) {
          took = true;
          return new SocketLock({ server, address, name, options, backend: KIND, queueTicket: line.ticket });
        }
        // Busy. Before reporting it or waiting on it, make sure the holder is not a foreign uid (a squatter).
        if (squatChecked === undefined) {
          required = requiredUid(options);
          squatChecked = required === undefined;
        }
        const checkSquat = !squatChecked && required !== undefined;
        if (!options.wait && request.describeHolder) {
          const { holder, boundUid: uid } = await inspectHolder(address, options.helloTimeoutMs);
          // The kernel's uid of the binder; without koffi, the uid /proc confirmed for a verified holder.
          const confirmed = uid ?? (holder?.verified === true && holder.uid >= 0 ? holder.uid : undefined);
          if (required !== undefined && confirmed !== undefined && confirmed !== required) throw squattedError(name, confirmed, holder, options);
          throw new LockBusyError(name, holder);
        }
        if (!options.wait) {
          if (checkSquat) await assertNotSquatted(name, address, options, await boundUid(address));
          throw new LockBusyError(name, undefined);
        }
        // Waiting: the wait's own connection is checked while it already watches the holder (koffi may be loading).
        const inspect = checkSquat
          ? async (connection: HolderConnection): Promise<void> => {
              const fd = connection.fd;
              await assertNotSquatted(name, address, options, fd === undefined ? undefined : (await peerCredentials(fd))?.uid);
              // Only a finished check counts: a release that wins the race leaves it for the next busy round.
              squatChecked = true;
            }
          : undefined;
        // In line behind an earlier waiter: its leaving wakes us, and the holder's release does not.
        if (await line.waitTurn(options.pollIntervalMs, signal)) {
          lookFirst = true;
          continue;
        }
        await waitForRelease(address, options.pollIntervalMs, signal, state, inspect);
      }
    } finally {
      // After the bind: the waiter behind us wakes to find us holding the lock, and watches us.
      line.leave(took);
    }
  },

  async status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    const holder = await readHolder(addressOf(name, options), options.helloTimeoutMs);
    // A holder without hello (an inherited fd) cannot say which lock it holds; we know.
    return holder?.name === '' ? { ...holder, name, scope: options.scope } : holder;
  },

  list(options: NormalizedOptions): Promise<Holder[]> {
    assertAbstractSupported();
    return listHolders(options);
  },

  messageAddress: addressOf,

  async silentBinding(address: string): Promise<string | undefined> {
    return (await isAbstractBound(address)) ? 'the name is bound by a socket that does not listen: there is no holder to talk to' : undefined;
  },

  stop(request: AcquireRequest): Promise<StopStage> {
    const { name, options } = request;
    return stopSocketHolder(request, { address: addressOf(name, options), describe: () => abstractBackend.status(name, options) });
  },
};
