import type { BackendName, StatusOptions } from '../index.js';
import type { LockArgs } from './args.js';

/**
 * Library options for the lock the command line names. `--backend` takes a name, or a URL whose scheme
 * names the backend (`postgres://…` and `postgresql://…` mean `postgres`; `etcd://…` and `etcds://…`, `etcd`). The library validates both:
 * an unknown backend is its `ERR_INVALID_OPTION`, which the CLI reports as a usage error.
 * @internal
 */
export function lockOptions(lock: LockArgs): StatusOptions & Record<string, unknown> {
  const options: StatusOptions & Record<string, unknown> = Object.assign({ scope: lock.scope }, lock.prefix === undefined ? {} : { prefix: lock.prefix });
  if (lock.dir !== undefined) Object.assign(options, { dir: lock.dir });
  if (lock.expectedUid !== undefined) Object.assign(options, { expectedUid: lock.expectedUid });
  const backend = lock.backend;
  if (backend === undefined) return options;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//iu.exec(backend);
  if (scheme === null) return Object.assign(options, { backend: backend as BackendName });
  const name = (scheme[1] ?? '').toLowerCase();
  return Object.assign(options, { backend: (name === 'postgresql' ? 'postgres' : name === 'etcds' ? 'etcd' : name) as BackendName, url: backend });
}
