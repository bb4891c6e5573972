import { stop } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { printable } from './format.js';
import { lockOptions } from './lock-options.js';

const SAID = {
  'not-held': 'was not running',
  released: 'released the lock on request',
  terminated: 'was stopped with SIGTERM',
  killed: 'was stopped with SIGKILL',
} as const;

/**
 * `onlyone stop NAME [--timeout S] [--kill-after S]`: asks the holder to release, waits S seconds (default
 * 10), SIGTERMs the processes verified to hold the lock, waits `--kill-after` (default S), SIGKILLs them.
 * Prints one word on stdout (`not-held`, `released`, `terminated`, `killed`) and a sentence on stderr.
 * Exit 0 once the lock is free; 75 (from main) when no holder could be verified or it survived.
 * @throws the errors of the library's `stop()`.
 * @internal
 */
export async function stopHolder(args: Extract<Parsed, { command: 'stop' }>): Promise<Outcome> {
  const outcome = await stop(args.name, {
    ...lockOptions(args.lock),
    graceMs: args.graceSeconds * 1000,
    ...(args.killAfterSeconds === undefined ? {} : { killAfterMs: args.killAfterSeconds * 1000 }),
  });
  process.stderr.write(`onlyone: ${printable(args.name)} ${SAID[outcome]}\n`);
  process.stdout.write(`${outcome}\n`);
  return { code: ExitCode.ok };
}
