import type { Holder } from '../../holder/types.js';
import type { NormalizedOptions } from '../../options.js';
import type { AcquireRequest, Backend, BackendLock } from '../types.js';

let loaded: Promise<Backend> | undefined;

/** Loads the etcd backend on first use, so programs on the local backends never load its modules. */
function load(): Promise<Backend> {
  loaded ??= import('./index.js').then((module) => module.etcdBackend);
  return loaded;
}

/**
 * The etcd backend as the registry sees it: same kind and capabilities, implementation loaded on first call.
 * @internal
 */
export const lazyEtcdBackend: Backend = {
  kind: 'etcd',
  capabilities: { verifiedIdentity: false, messaging: false, slots: true, fencing: true, replace: false },
  async acquire(request: AcquireRequest): Promise<BackendLock> {
    return (await load()).acquire(request);
  },
  async status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    return (await load()).status(name, options);
  },
  async list(options: NormalizedOptions): Promise<Holder[]> {
    return (await load()).list(options);
  },
};
