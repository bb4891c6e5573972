import { LockBusyError } from '../../errors.js';
import type { Holder } from '../../holder/types.js';
import type { NormalizedOptions } from '../../options.js';
import { SocketLock, bindExclusive } from './lock.js';
import { waitForAnyRelease, type WaitState } from './wait.js';
import type { AcquireRequest, BackendLock } from '../types.js';

/** The lock name of slot `index` of `name`. */
export function slotName(name: string, index: number): string {
  return `${name}#${index}`;
}

/** What slot acquisition needs from a socket backend. @internal */
export interface SlotBackend {
  readonly kind: string;
  /** The address of a lock name; throws InvalidLockNameError when it does not fit. */
  addressOf(name: string, options: NormalizedOptions): string;
  readHolder(address: string, helloTimeoutMs: number): Promise<Holder | undefined>;
}

/**
 * Takes one of `options.slots` locks `NAME#0` ... `NAME#N-1`. Binding is atomic per slot, so N+1 racers
 * give at most N winners, and exactly N when nobody releases: a racer fails only after finding every
 * slot held. With `wait`, it watches every slot at once and retries when any one frees.
 * @internal
 */
export async function acquireSlot(request: AcquireRequest, backend: SlotBackend): Promise<BackendLock> {
  const { name, options, signal } = request;
  const count = options.slots ?? 1;
  // Building every address first checks that even the longest slot name fits: nothing is bound otherwise.
  const addresses = Array.from({ length: count }, (_, index) => backend.addressOf(slotName(name, index), options));
  const state: WaitState = { refusals: 0 };
  for (;;) {
    for (const [slot, address] of addresses.entries()) {
      const server = await bindExclusive(address);
      if (server !== undefined) return new SocketLock({ server, address, name, slot, options, backend: backend.kind });
    }
    if (!options.wait) {
      const holder = request.describeHolder && addresses[0] !== undefined ? await backend.readHolder(addresses[0], options.helloTimeoutMs) : undefined;
      throw new LockBusyError(name, holder, { cause: new Error(`all ${count} slots are held`) });
    }
    await waitForAnyRelease(addresses, options.pollIntervalMs, signal, state);
  }
}

/** The order `list` gives: by name, then by slot. @internal */
export function byLock(a: Holder, b: Holder): number {
  return a.name.localeCompare(b.name) || (a.slot ?? -1) - (b.slot ?? -1);
}
