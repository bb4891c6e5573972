import { HolderConnection } from '../client/holder-connection.js';
import { holderFromHello } from '../holder/hello.js';
import type { Holder } from '../holder/types.js';

/**
 * A holder known only to exist: it did not (or could not) say who it is. pid 0, uid -1, `verified: false`.
 * @internal
 */
export function silentHolder(reason: string, backend: string, name = '', scope = ''): Holder {
  return { name, scope, pid: 0, uid: -1, hostname: '', argv: [], cwd: '', acquiredAt: 0, heldForMs: 0, protocol: 0, verified: false, unverifiedReason: reason, backend };
}

/**
 * Reads the hello of whoever listens on the socket file `path`. Undefined when nothing listens (no file,
 * or a stale file whose holder died). A listener that never says hello is a silent holder.
 * @internal
 */
export async function readSocketHolder(path: string, helloTimeoutMs: number, backend: string): Promise<Holder | undefined> {
  const outcome = await HolderConnection.open(path);
  if (!outcome.ok) return outcome.code === 'EAGAIN' ? silentHolder('the holder is not accepting connections (backlog full)', backend) : undefined;
  const { connection } = outcome;
  try {
    const hello = await connection.hello(helloTimeoutMs);
    return holderFromHello(hello, backend) ?? silentHolder('the holder sent a malformed hello', backend);
  } catch (error) {
    return silentHolder(`the holder sent no hello: ${(error as Error).message}`, backend);
  } finally {
    connection.close();
  }
}
