import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DURATION_FORMS, durationSeconds } from './duration.js';
import { expectedUidOf } from './expect-user.js';
import { parseArgsMessage } from './voice.js';
import { UsageError, type CommandName, type LockArgs } from './parsed.js';

/** parseArgs' option table. @internal */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs found. @internal */
export type Values = Record<string, string | boolean | undefined>;

/** Options every command takes. @internal */
export const LOCK_OPTIONS: Options = {
  scope: { type: 'string' },
  prefix: { type: 'string' },
  backend: { type: 'string' },
  dir: { type: 'string' },
  'expect-user': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** @internal */
export function strictParse(topic: CommandName, args: readonly string[], options: Options): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: args.slice(), options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError(parseArgsMessage(error), topic);
  }
}

/** @internal */
export function lockArgs(values: Values, topic: CommandName): LockArgs {
  const scope = values['scope'] ?? 'user';
  if (scope !== 'user' && scope !== 'system') throw new UsageError(`--scope must be 'user' or 'system', got '${String(scope)}'`, topic);
  const expectUser = text(values['expect-user']);
  const expectedUid = expectUser === undefined ? undefined : expectedUidOf(expectUser, topic);
  return { scope, prefix: text(values['prefix']), backend: text(values['backend']), dir: text(values['dir']), expectedUid };
}

/** The longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The seconds a time option's value stands for (`500ms`, `5s`, `2m`, `1h`, `30`, `1.5`).
 * @throws UsageError naming the option when the value is not a duration.
 * @internal
 */
export function seconds(value: string | boolean | undefined, option: string, topic: CommandName): number | undefined {
  if (typeof value !== 'string') return undefined;
  const result = durationSeconds(value);
  if (result === undefined) throw new UsageError(`${option} takes a number of seconds or a duration (${DURATION_FORMS}), got '${value}'`, topic);
  // Node fires a longer timer after 1 ms: a 30-day wait would end at once.
  if (result * 1000 > MAX_TIMER_MS) throw new UsageError(`${option} takes at most 24d (a timer's limit), got '${value}'`, topic);
  return result;
}

/** @internal */
export function exitStatus(value: string | boolean | undefined): number {
  if (typeof value !== 'string') return 75;
  if (!/^\d{1,3}$/u.test(value) || Number(value) > 255) {
    throw new UsageError(`-E/--conflict-exit-code takes an exit status from 0 to 255, got '${value}'`, 'run');
  }
  return Number(value);
}

/** @internal */
export function slotCount(value: string | boolean | undefined, topic: CommandName): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^\d{1,4}$/u.test(value) || Number(value) < 1 || Number(value) > 1024) throw new UsageError(`--slots takes a number from 1 to 1024, got '${value}'`, topic);
  return Number(value);
}

/** @internal */
export function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
