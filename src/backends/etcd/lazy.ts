import { lazyBackend } from '../lazy.js';
import type { Backend } from '../types.js';

/**
 * The etcd backend as the registry sees it: its kind, capabilities and run records, with the implementation loaded
 * on first call.
 * @internal
 */
export const lazyEtcdBackend: Backend = lazyBackend(
  'etcd',
  { verifiedIdentity: false, messaging: false, slots: true, fencing: true, replace: false },
  ['ledger', 'lastRun'],
  async () => (await import('./index.js')).etcdBackend,
);
