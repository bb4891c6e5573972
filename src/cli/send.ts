import { send } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { lockOptions } from './lock-options.js';
import { readSendData } from './send-data.js';

/**
 * `onlyone send NAME [--json DATA] [--timeout S] [-- ARG...]`: sends ARGs (as argv), our cwd and DATA to the
 * holder of NAME and prints its reply as one line of JSON. Errors are mapped by main: nobody holds the lock 1,
 * too large 65, the holder answered an error 76, no reply in time 124.
 * @throws the errors of the library's `send()`.
 * @internal
 */
export async function sendMessage(args: Extract<Parsed, { command: 'send' }>): Promise<Outcome> {
  const reply = await send(args.name, await readSendData(args.data), {
    ...lockOptions(args.lock),
    argv: args.argv,
    ...(args.timeoutSeconds === undefined ? {} : { timeoutMs: args.timeoutSeconds * 1000 }),
  });
  await printReply(reply);
  return { code: ExitCode.ok };
}

/** Writes a reply as one line of JSON, and resolves once stdout has taken it (main exits right after). @internal */
export function printReply(reply: unknown): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(reply ?? null)}\n`, () => resolve()));
}
