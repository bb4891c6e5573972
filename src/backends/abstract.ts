import { abstractAddress } from '../address.js';
import { LockBusyError } from '../errors.js';
import { requiredUid, squattedError } from '../identity/squatting.js';
import type { Holder } from '../holder/types.js';
import type { NormalizedOptions } from '../options.js';
import { assertAbstractSupported } from '../runtime.js';
import { KIND, boundUid, inspectHolder, readHolder } from './abstract-holder.js';
import { listHolders } from './abstract-list.js';
import { SocketLock, bindExclusive } from './socket-lock.js';
import { waitForRelease, type WaitState } from './socket-wait.js';
import type { AcquireRequest, Backend, BackendLock } from './types.js';

export { readHolder };

function addressOf(name: string, options: NormalizedOptions): string {
  assertAbstractSupported();
  return abstractAddress(name, options.scope, options.prefix, process.getuid?.() ?? 0);
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

  list(options: NormalizedOptions): Promise<Holder[]> {
    assertAbstractSupported();
    return listHolders(options);
  },
};
