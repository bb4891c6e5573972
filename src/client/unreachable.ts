import type { Backend } from '../backends/types.js';
import { NotHeldError, OnlyoneError, ProtocolError, RemoteError } from '../errors.js';
import type { ConnectOutcome } from './holder-connection.js';

/**
 * The error for a holder socket that could not be connected to, as `send` and `requestRerun` report it: nobody
 * holds the lock (or a silent process binds it), a full backlog, or another system error.
 * @internal
 */
export async function unreachableHolder(name: string, address: string, backend: Backend, outcome: Extract<ConnectOutcome, { ok: false }>): Promise<OnlyoneError> {
  if (outcome.code === 'ECONNREFUSED' || outcome.code === 'ENOENT') {
    const silent = await backend.silentBinding?.(address);
    if (silent !== undefined) return new ProtocolError(`Lock "${name}": ${silent}`, { cause: outcome.error });
    return new NotHeldError(name, { cause: outcome.error });
  }
  if (outcome.code === 'EAGAIN') return new RemoteError('busy', 'the holder is not accepting connections (backlog full)');
  return new OnlyoneError('ERR_BACKEND', `Cannot connect to the holder of "${name}": ${outcome.error.message}`, { cause: outcome.error });
}
