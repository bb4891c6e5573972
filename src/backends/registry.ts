import type { NormalizedOptions } from '../options.js';
import { abstractBackend } from './abstract.js';
import { lazyPostgresBackend } from './postgres-lazy.js';
import type { Backend } from './types.js';

/** The backend the options name. @internal */
export function backendFor(options: NormalizedOptions): Backend {
  switch (options.backend) {
    case 'abstract':
      return abstractBackend;
    case 'postgres':
      return lazyPostgresBackend;
  }
}
