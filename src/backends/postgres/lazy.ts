import type { Holder } from '../../holder/types.js';
import type { NormalizedOptions } from '../../options.js';
import type { RunRecord } from '../../once-per/record.js';
import type { RerunReply, RerunRequest, Reruns } from '../../holder/reruns.js';
import type { AcquireRequest, Backend, BackendLock, RunLedger } from '../types.js';

let loaded: Promise<Backend> | undefined;

/** Loads the postgres backend on first use, so programs on the local backends never load its modules. */
function load(): Promise<Backend> {
  loaded ??= import('./index.js').then((module) => module.postgresBackend);
  return loaded;
}

/**
 * The postgres backend as the registry sees it: same kind and capabilities, implementation loaded on first call.
 * @internal
 */
export const lazyPostgresBackend: Backend = {
  kind: 'postgres',
  capabilities: { verifiedIdentity: false, messaging: false, slots: false, fencing: true, replace: false },
  async acquire(request: AcquireRequest): Promise<BackendLock> {
    return (await load()).acquire(request);
  },
  async status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    return (await load()).status(name, options);
  },
  async list(options: NormalizedOptions): Promise<Holder[]> {
    return (await load()).list(options);
  },
  async ledger(name: string, options: NormalizedOptions, lock: BackendLock): Promise<RunLedger> {
    const backend = await load();
    if (backend.ledger === undefined) throw new Error('the postgres backend keeps no run records');
    return backend.ledger(name, options, lock);
  },
  async lastRun(name: string, options: NormalizedOptions): Promise<RunRecord | undefined> {
    return (await load()).lastRun?.(name, options);
  },
  async reruns(name: string, options: NormalizedOptions, lock: BackendLock): Promise<Reruns> {
    const backend = await load();
    if (backend.reruns === undefined) throw new Error('the postgres backend keeps no reruns');
    return backend.reruns(name, options, lock);
  },
  async requestRerun(name: string, options: NormalizedOptions, request: Omit<RerunRequest, 'from'>): Promise<RerunReply> {
    const backend = await load();
    if (backend.requestRerun === undefined) throw new Error('the postgres backend keeps no reruns');
    return backend.requestRerun(name, options, request);
  },
};
