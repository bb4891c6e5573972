import { UsageError } from './parsed.js';
import type { Values } from './arg-values.js';

/**
 * `run`'s one-letter options, flock(1)'s included, with the long option each stands for. The letters are
 * expanded by the run tokenizer, so `-nE 0` and `-w5s` work as they do with flock.
 * `optional` takes a value only when one follows that is a duration (`-w` alone waits forever).
 * @internal
 */
export const RUN_SHORT: Readonly<Record<string, { readonly long: string; readonly value: 'none' | 'required' | 'optional' }>> = {
  h: { long: 'help', value: 'none' },
  q: { long: 'quiet', value: 'none' },
  w: { long: 'wait', value: 'optional' },
  E: { long: 'conflict-exit-code', value: 'required' },
  n: { long: 'nonblock', value: 'none' },
  x: { long: 'exclusive', value: 'none' },
  e: { long: 'exclusive', value: 'none' },
  o: { long: 'close', value: 'none' },
  c: { long: 'command', value: 'required' },
  s: { long: 'shared', value: 'none' },
  u: { long: 'unlock', value: 'none' },
  F: { long: 'exec', value: 'none' },
};

/** Long spellings that flock(1) accepts for one of `run`'s options. @internal */
export const RUN_LONG_ALIASES: Readonly<Record<string, string>> = { '--nb': '--nonblock', '--nonblocking': '--nonblock', '--no-fork': '--exec' };

/** flock(1) options with no onlyone equivalent, and the one line that says what to use instead. */
const REFUSED: ReadonlyArray<readonly [option: string, shown: string, answer: string]> = [
  ['shared', '-s/--shared', 'onlyone has no shared locks; --slots N lets at most N instances run at once'],
  ['unlock', '-u/--unlock', "onlyone frees a lock when its command ends; to free one taken with 'onlyone lock NAME', run 'onlyone unlock NAME'"],
  ['fcntl', '--fcntl', 'onlyone takes no fcntl(2) locks; --backend lockfile uses flock(2) on DIR/NAME.lock'],
  ['start', '--start', 'onlyone locks names, not byte ranges; use one NAME per range'],
  ['length', '--length', 'onlyone locks names, not byte ranges; use one NAME per range'],
];

/**
 * Rejects flock(1) options that onlyone does not offer, each with a one-line answer.
 * @throws UsageError for the first one given.
 * @internal
 */
export function refuseFlockOnly(values: Values): void {
  for (const [option, shown, answer] of REFUSED) {
    if (values[option] !== undefined) throw new UsageError(`${shown}: ${answer}`, 'run');
  }
}

/**
 * flock's `-c STRING`: the command line it runs, `$SHELL -c STRING` (`/bin/sh` without `$SHELL`), as flock does.
 * @internal
 */
export function shellCommand(text: string): [string, ...string[]] {
  const shell = process.env['SHELL'];
  return [shell !== undefined && shell !== '' ? shell : '/bin/sh', '-c', text];
}
