import { list } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { holderJson, listText } from './format.js';
import { lockOptions } from './lock-options.js';

/**
 * `onlyone list [--json]`: every lock held in the scope, with its holder. Text output is a table (nothing at
 * all when no lock is held); `--json` prints an array of the same objects as `status --json`.
 * @throws the library's errors (invalid option, unsupported platform).
 * @internal
 */
export async function showList(args: Extract<Parsed, { command: 'list' }>): Promise<Outcome> {
  const holders = await list(lockOptions(args.lock));
  if (args.json) {
    const json = holders.map((holder) => holderJson(holder.name, holder.scope === '' ? args.lock.scope : holder.scope, holder));
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } else {
    process.stdout.write(listText(holders));
  }
  return { code: ExitCode.ok };
}
