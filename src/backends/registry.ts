import type { NormalizedOptions } from '../options.js';
import { abstractBackend } from './abstract/index.js';
import { lockfileBackend } from './lockfile/index.js';
import { lazyPostgresBackend } from './postgres/lazy.js';
import { lazyEtcdBackend } from './etcd/lazy.js';
import type { Backend } from './types.js';

/** The backend the options name. @internal */
export function backendFor(options: NormalizedOptions): Backend {
  switch (options.backend) {
    case 'abstract':
      return abstractBackend;
    case 'lockfile':
      return lockfileBackend;
    case 'postgres':
      return lazyPostgresBackend;
    case 'etcd':
      return lazyEtcdBackend;
  }
}

/** `NAME#k`, the name of slot k of `name` on every backend that has slots. @internal */
export { slotName } from './socket/slots.js';
