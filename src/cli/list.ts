import { list } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { listText } from './format.js';
import { holderJson, lockNameOf, requiredUidOf } from './holder-json.js';
import { lockOptions } from './lock-options.js';

/**
 * `onlyone list [--json]`: every lock held in the scope, with its holder (`NAME#k` for slot k). Text output is a
 * table (nothing at all when no lock is held); `--json` prints an array of the same objects as `status --json`.
 * Exit 0, or 77 when a holder is a squatter (it is listed, marked).
 * @throws the library's errors (invalid option, unsupported platform, OsError).
 * @internal
 */
export async function showList(args: Extract<Parsed, { command: 'list' }>): Promise<Outcome> {
  const holders = await list(lockOptions(args.lock));
  if (args.json) {
    const json = holders.map((holder) => holderJson(lockNameOf(holder), holder.scope === '' ? args.lock.scope : holder.scope, holder, requiredUidOf(args.lock)));
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } else {
    process.stdout.write(listText(holders));
  }
  return { code: holders.some((holder) => holder.squatted === true) ? ExitCode.squatted : ExitCode.ok };
}
