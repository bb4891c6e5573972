import { exitStatus, LOCK_OPTIONS, lockArgs, seconds, strictParse, type Options } from './arg-values.js';
import { DURATION_WITH_UNIT } from './duration.js';
import { UsageError, type LockHolderSpec, type Parsed } from './parsed.js';
import { splitRunTokens } from './run-tokens.js';

const LOCK_COMMAND_OPTIONS = {
  ...LOCK_OPTIONS,
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  'conflict-exit-code': { type: 'string' },
  quiet: { type: 'boolean' },
  nonblock: { type: 'boolean' },
  exclusive: { type: 'boolean' },
} as const satisfies Options;

/**
 * Parses `lock [options] NAME`, with run's spellings of -w, -E, -q, -n and -x.
 * @throws UsageError
 * @internal
 */
export function parseLock(args: readonly string[]): Parsed {
  const { optionTokens, command } = splitRunTokens(args, LOCK_COMMAND_OPTIONS);
  const { values, positionals } = strictParse('lock', optionTokens, LOCK_COMMAND_OPTIONS);
  if (values['help'] === true) return { command: 'help', topic: 'lock' };
  const [name, ...extra] = [...positionals, ...command];
  if (name === undefined) throw new UsageError('missing lock NAME', 'lock');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}': 'onlyone lock' runs no command; it locks NAME for the rest of the calling script`, 'lock');
  if (DURATION_WITH_UNIT.test(name)) throw new UsageError(`'${name}' is a duration, not a lock NAME: to wait that long, write -w ${name} NAME`, 'lock');
  const timeoutSeconds = seconds(values['timeout'], '--wait/--timeout', 'lock');
  const wait = values['wait'] === true || timeoutSeconds !== undefined;
  if (values['nonblock'] === true && wait) throw new UsageError('-n/--nonblock and -w/--wait cannot be used together', 'lock');
  return {
    command: 'lock',
    name,
    lock: lockArgs(values, 'lock'),
    wait,
    timeoutSeconds,
    conflictCode: exitStatus(values['conflict-exit-code']),
    quiet: values['quiet'] === true,
  };
}

/**
 * Parses `unlock [options] NAME`.
 * @throws UsageError
 * @internal
 */
export function parseUnlock(args: readonly string[]): Parsed {
  const options = { ...LOCK_OPTIONS, quiet: { type: 'boolean', short: 'q' } } as const satisfies Options;
  const { values, positionals } = strictParse('unlock', args, options);
  if (values['help'] === true) return { command: 'help', topic: 'unlock' };
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('missing lock NAME', 'unlock');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`, 'unlock');
  return { command: 'unlock', name, lock: lockArgs(values, 'unlock'), quiet: values['quiet'] === true };
}

/**
 * Parses the internal `__lock-holder SPEC` that `onlyone lock` starts (see lock-holder.ts).
 * @throws UsageError when SPEC is not what `onlyone lock` writes.
 * @internal
 */
export function parseLockHolder(args: readonly string[]): Parsed {
  let spec: LockHolderSpec;
  try {
    spec = JSON.parse(args[0] ?? '') as LockHolderSpec;
  } catch {
    throw new UsageError('__lock-holder is started by onlyone lock', undefined);
  }
  if (typeof spec?.name !== 'string' || !Number.isInteger(spec.callerPid) || !Number.isInteger(spec.cliPid) || spec.callerPid <= 1) {
    throw new UsageError('__lock-holder is started by onlyone lock', undefined);
  }
  return { command: 'lock-holder', spec };
}
