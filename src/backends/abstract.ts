import { abstractAddress, scopeSegment } from '../address.js';
import { HolderConnection } from '../client/holder-connection.js';
import { LockBusyError } from '../errors.js';
import { holderFromHello } from '../holder/hello.js';
import type { Holder } from '../holder/types.js';
import type { NormalizedOptions } from '../options.js';
import { abstractListeners, addressCandidates, isAbstractBound } from '../proc/net-unix.js';
import { assertAbstractSupported } from '../runtime.js';
import { SocketLock, bindExclusive } from './socket-lock.js';
import { bindReplacing } from './socket-replace.js';
import { acquireSlot } from './socket-slots.js';
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
 * Reads the hello of whoever holds `address`. Undefined when nothing listens there.
 * A holder that accepts but never says hello (the lock fd was handed to a non-onlyone child) is reported
 * with pid 0 and uid -1, and `verified: false`.
 * @internal
 */
export async function readHolder(address: string, helloTimeoutMs: number): Promise<Holder | undefined> {
  const outcome = await HolderConnection.open(address);
  if (!outcome.ok) {
    if (outcome.code === 'EAGAIN') return silentHolder('the holder is not accepting connections (backlog full)');
    return (await isAbstractBound(address)) ? silentHolder('the name is bound by a socket that does not listen') : undefined;
  }
  const { connection } = outcome;
  try {
    const hello = await connection.hello(helloTimeoutMs);
    return holderFromHello(hello, KIND) ?? silentHolder('the holder sent a malformed hello');
  } catch (error) {
    return silentHolder(`the holder sent no hello: ${(error as Error).message}`);
  } finally {
    connection.close();
  }
}

function silentHolder(reason: string): Holder {
  return { name: '', scope: '', pid: 0, uid: -1, hostname: '', argv: [], cwd: '', acquiredAt: 0, heldForMs: 0, protocol: 0, verified: false, unverifiedReason: reason, backend: KIND };
}

/** The Linux abstract-socket backend: the lock is a name in the kernel, freed the instant its holder dies. */
export const abstractBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: false, messaging: true, slots: true, fencing: false },

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
    for (;;) {
      const server = await bindExclusive(address);
      if (server !== undefined) return new SocketLock({ server, address, name, options, backend: KIND });
      if (!options.wait) {
        throw new LockBusyError(name, request.describeHolder ? await readHolder(address, options.helloTimeoutMs) : undefined);
      }
      await waitForRelease(address, options.pollIntervalMs, signal, state);
    }
  },

  status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    return readHolder(addressOf(name, options), options.helloTimeoutMs);
  },

  async list(options: NormalizedOptions): Promise<Holder[]> {
    assertAbstractSupported();
    const scopePrefix = options.scope === 'system' ? `${options.prefix}${scopeSegment('system', 0)}/` : `${options.prefix}${scopeSegment('user', process.getuid?.() ?? 0)}/`;
    const listeners = await abstractListeners(scopePrefix);
    const holders: Holder[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < listeners.length) {
        const listener = listeners[next++];
        if (listener === undefined) break;
        for (const address of addressCandidates(listener.path)) {
          const holder = await readHolder(address, options.helloTimeoutMs);
          if (holder === undefined) continue;
          const printedName = address.slice(1 + scopePrefix.length).replace(/\0+$/u, '');
          holders.push(holder.pid === 0 ? { ...holder, name: printedName, scope: options.scope } : holder);
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, listeners.length) }, worker));
    return holders.sort((a, b) => a.name.localeCompare(b.name));
  },
};
