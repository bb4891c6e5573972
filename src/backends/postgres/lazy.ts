import { lazyBackend } from '../lazy.js';
import type { Backend } from '../types.js';

/**
 * The postgres backend as the registry sees it: its kind, capabilities and run records, with the implementation
 * (and `pg`) loaded on first call.
 * @internal
 */
export const lazyPostgresBackend: Backend = lazyBackend(
  'postgres',
  { verifiedIdentity: false, messaging: false, slots: false, fencing: true, replace: false },
  ['ledger', 'lastRun', 'reruns', 'requestRerun'],
  async () => (await import('./index.js')).postgresBackend,
);
