import { parseArgs, type ParseArgsConfig } from 'node:util';
import { expectedUidOf } from './expect-user.js';

/** The CLI's sub-commands. @internal */
export type CommandName = 'run' | 'status' | 'list' | 'wait';

/** Options every command shares: which lock, where. @internal */
export interface LockArgs {
  readonly scope: 'user' | 'system';
  readonly prefix: string | undefined;
  /** A backend name, or a URL such as `postgres://host/db`. */
  readonly backend: string | undefined;
  readonly dir: string | undefined;
  /** `--expect-user`: the uid that should hold the lock; another holder is a squatter (exit 77). */
  readonly expectedUid: number | undefined;
}

/** A parsed command line. @internal */
export type Parsed =
  | { readonly command: 'help'; readonly topic: CommandName | undefined }
  | { readonly command: 'version' }
  | {
      readonly command: 'run';
      readonly name: string;
      readonly lock: LockArgs;
      readonly wait: boolean;
      readonly timeoutSeconds: number | undefined;
      readonly conflictCode: number;
      readonly quiet: boolean;
      readonly inherit: boolean;
      readonly graceSeconds: number;
      readonly argv: readonly [string, ...string[]];
    }
  | { readonly command: 'status'; readonly name: string; readonly lock: LockArgs; readonly json: boolean }
  | { readonly command: 'list'; readonly lock: LockArgs; readonly json: boolean }
  | { readonly command: 'wait'; readonly name: string; readonly lock: LockArgs; readonly timeoutSeconds: number | undefined; readonly quiet: boolean };

/** A command line that cannot be understood; `topic` says which usage to print. @internal */
export class UsageError extends Error {
  readonly topic: CommandName | undefined;

  constructor(message: string, topic: CommandName | undefined) {
    super(message);
    this.topic = topic;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

const LOCK_OPTIONS = {
  scope: { type: 'string' },
  prefix: { type: 'string' },
  backend: { type: 'string' },
  dir: { type: 'string' },
  'expect-user': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const RUN_OPTIONS = {
  ...LOCK_OPTIONS,
  wait: { type: 'boolean', short: 'w' },
  timeout: { type: 'string' },
  'conflict-exit-code': { type: 'string', short: 'E' },
  quiet: { type: 'boolean', short: 'q' },
  'no-inherit': { type: 'boolean' },
  grace: { type: 'string' },
} as const satisfies Options;

const COMMANDS: readonly CommandName[] = ['run', 'status', 'list', 'wait'];

/**
 * Parses `process.argv.slice(2)`.
 * @throws UsageError for unknown commands or options, missing arguments and bad values.
 * @internal
 */
export function parseCli(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command', undefined);
  if (first === '-h' || first === '--help') return { command: 'help', topic: undefined };
  if (first === '-V' || first === '--version') return { command: 'version' };
  if (first === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command '${topic}'`, undefined);
    return { command: 'help', topic };
  }
  if (!isCommand(first)) throw new UsageError(`unknown command '${first}'`, undefined);
  switch (first) {
    case 'run':
      return parseRun(rest);
    case 'status': {
      const { values, name } = parseSimple('status', rest, { ...LOCK_OPTIONS, json: { type: 'boolean' } }, true);
      if (values === undefined) return { command: 'help', topic: 'status' };
      return { command: 'status', name, lock: lockArgs(values, 'status'), json: values['json'] === true };
    }
    case 'list': {
      const { values } = parseSimple('list', rest, { ...LOCK_OPTIONS, json: { type: 'boolean' } }, false);
      if (values === undefined) return { command: 'help', topic: 'list' };
      return { command: 'list', lock: lockArgs(values, 'list'), json: values['json'] === true };
    }
    case 'wait': {
      const options = { ...LOCK_OPTIONS, timeout: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } } as const;
      const { values, name } = parseSimple('wait', rest, options, true);
      if (values === undefined) return { command: 'help', topic: 'wait' };
      return { command: 'wait', name, lock: lockArgs(values, 'wait'), timeoutSeconds: seconds(values['timeout'], '--timeout', 'wait'), quiet: values['quiet'] === true };
    }
  }
}

type Values = Record<string, string | boolean | undefined>;

function parseSimple(topic: CommandName, args: readonly string[], options: Options, wantsName: boolean): { values: Values | undefined; name: string } {
  const { values, positionals } = strictParse(topic, args, options);
  if (values['help'] === true) return { values: undefined, name: '' };
  const wanted = wantsName ? 1 : 0;
  if (positionals.length < wanted) throw new UsageError('missing lock NAME', topic);
  if (positionals.length > wanted) throw new UsageError(`unexpected argument '${positionals[wanted] ?? ''}'`, topic);
  return { values, name: positionals[0] ?? '' };
}

function parseRun(args: readonly string[]): Parsed {
  const { optionTokens, command } = splitRun(args);
  const { values, positionals } = strictParse('run', optionTokens, RUN_OPTIONS);
  if (values['help'] === true) return { command: 'help', topic: 'run' };
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('missing lock NAME', 'run');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`, 'run');
  const [file, ...commandArgs] = command;
  if (file === undefined) throw new UsageError('missing COMMAND (write it after --)', 'run');
  const timeoutSeconds = seconds(values['timeout'], '--wait/--timeout', 'run');
  return {
    command: 'run',
    name,
    lock: lockArgs(values, 'run'),
    wait: values['wait'] === true || timeoutSeconds !== undefined,
    timeoutSeconds,
    conflictCode: exitStatus(values['conflict-exit-code']),
    quiet: values['quiet'] === true,
    inherit: values['no-inherit'] !== true,
    graceSeconds: seconds(values['grace'], '--grace', 'run') ?? 10,
    argv: [file, ...commandArgs],
  };
}

/** Options that take a value in the next token when not written `--opt=value`. */
const RUN_VALUE_LONG = new Set(['--scope', '--prefix', '--backend', '--dir', '--expect-user', '--timeout', '--grace', '--conflict-exit-code']);
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)$/u;

/**
 * Splits `run`'s arguments into onlyone's own (options and NAME) and the COMMAND, which starts after `--` or
 * at the first argument after NAME, so the command's own options are never parsed as ours.
 * `-w`/`--wait` takes an optional number of seconds, which parseArgs cannot express: it becomes `--timeout`.
 */
function splitRun(args: readonly string[]): { optionTokens: string[]; command: string[] } {
  const optionTokens: string[] = [];
  let sawName = false;
  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? '';
    const next = args[i + 1];
    if (token === '--') return { optionTokens, command: args.slice(i + 1) };
    if (!token.startsWith('-') || token === '-') {
      if (sawName) return { optionTokens, command: args.slice(i) };
      sawName = true;
      optionTokens.push(token);
      continue;
    }
    const waitAttached = /^-([a-zA-Z]*w)((?:\d+(?:\.\d*)?|\.\d+))$/u.exec(token);
    if (waitAttached !== null) {
      optionTokens.push(`-${waitAttached[1] ?? 'w'}`, `--timeout=${waitAttached[2] ?? ''}`);
      continue;
    }
    if (token.startsWith('--wait=')) {
      optionTokens.push('--wait', `--timeout=${token.slice('--wait='.length)}`);
      continue;
    }
    optionTokens.push(token);
    const shortGroup = !token.startsWith('--');
    if ((token === '--wait' || (shortGroup && token.endsWith('w'))) && next !== undefined && NUMBER.test(next)) {
      optionTokens.push(`--timeout=${next}`);
      i++;
    } else if ((RUN_VALUE_LONG.has(token) || (shortGroup && token.endsWith('E'))) && next !== undefined) {
      optionTokens.push(next);
      i++;
    }
  }
  return { optionTokens, command: [] };
}

function strictParse(topic: CommandName, args: readonly string[], options: Options): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: args.slice(), options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/su, ''), topic);
  }
}

function lockArgs(values: Values, topic: CommandName): LockArgs {
  const scope = values['scope'] ?? 'user';
  if (scope !== 'user' && scope !== 'system') throw new UsageError(`--scope must be 'user' or 'system', got '${String(scope)}'`, topic);
  const expectUser = text(values['expect-user']);
  const expectedUid = expectUser === undefined ? undefined : expectedUidOf(expectUser, topic);
  return { scope, prefix: text(values['prefix']), backend: text(values['backend']), dir: text(values['dir']), expectedUid };
}

function seconds(value: string | boolean | undefined, option: string, topic: CommandName): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!NUMBER.test(value)) throw new UsageError(`${option} takes a number of seconds, got '${value}'`, topic);
  return Number(value);
}

function exitStatus(value: string | boolean | undefined): number {
  if (typeof value !== 'string') return 75;
  if (!/^\d{1,3}$/u.test(value) || Number(value) > 255) {
    throw new UsageError(`-E/--conflict-exit-code takes an exit status from 0 to 255, got '${value}'`, 'run');
  }
  return Number(value);
}

function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isCommand(value: string): value is CommandName {
  return (COMMANDS as readonly string[]).includes(value);
}
