import { status } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { holderJson, printable, statusText } from './format.js';
import { lockOptions } from './lock-options.js';

/**
 * `onlyone status NAME [--json]`: says who holds NAME. Exit 0 when held, 1 when free.
 * @throws the library's errors (invalid name or option, unsupported platform).
 * @internal
 */
export async function showStatus(args: Extract<Parsed, { command: 'status' }>): Promise<Outcome> {
  const holder = await status(args.name, lockOptions(args.lock));
  if (args.json) process.stdout.write(`${JSON.stringify(holderJson(args.name, args.lock.scope, holder))}\n`);
  else process.stdout.write(holder === undefined ? `${printable(args.name)} is free\n` : statusText(args.name, holder));
  return { code: holder === undefined ? ExitCode.free : ExitCode.ok };
}
