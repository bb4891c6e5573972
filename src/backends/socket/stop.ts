import type { AcquireRequest, StopStage } from '../types.js';
import { bindReplacing, type ReplaceTarget } from './replace.js';

/**
 * `stop()` on a lock that is only a socket (abstract): replaces its holder as `acquire` with `replace` would,
 * then closes the socket at once instead of keeping the lock.
 * @throws the errors of `bindReplacing` (LockBusyError, LockSquattedError, OsError, `signal.reason`).
 * @internal
 */
export async function stopSocketHolder(request: AcquireRequest, target: ReplaceTarget): Promise<StopStage> {
  const { server, stage } = await bindReplacing(request, target);
  // A waiter that connects in this instant must see its connection close, not hang on an unserved socket.
  server.on('connection', (socket) => socket.destroy());
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return stage === 'free' ? 'not-held' : stage;
}
