import { parseArgs, type ParseArgsConfig } from 'node:util';
import { expectedUidOf } from './expect-user.js';
import { signalName } from './signals.js';

/** The CLI's sub-commands. @internal */
export type CommandName = 'run' | 'status' | 'list' | 'wait' | 'send' | 'stop';

/** How `run` repeats its command while keeping the lock. @internal */
export type LoopMode = 'once' | 'keep-running' | 'until-success' | 'until-failure';

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
      /** On a conflict, send our argv and cwd to the holder and print its reply. */
      readonly forward: boolean;
      /** Shell command run for each message (message JSON on stdin, reply on stdout). */
      readonly onMessage: string | undefined;
      /** Signal sent to the command for each message instead. */
      readonly onMessageSignal: NodeJS.Signals | undefined;
      readonly replace: boolean;
      readonly slots: number | undefined;
      readonly loop: LoopMode;
    }
  | { readonly command: 'status'; readonly name: string; readonly lock: LockArgs; readonly json: boolean; readonly slots: number | undefined }
  | { readonly command: 'list'; readonly lock: LockArgs; readonly json: boolean }
  | {
      readonly command: 'wait';
      readonly name: string;
      readonly lock: LockArgs;
      readonly timeoutSeconds: number | undefined;
      readonly quiet: boolean;
      readonly slots: number | undefined;
    }
  | {
      readonly command: 'send';
      readonly name: string;
      readonly lock: LockArgs;
      readonly data: unknown;
      readonly timeoutSeconds: number | undefined;
      readonly argv: readonly string[];
    }
  | {
      readonly command: 'stop';
      readonly name: string;
      readonly lock: LockArgs;
      readonly graceSeconds: number;
      readonly killAfterSeconds: number | undefined;
    };

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
  forward: { type: 'boolean' },
  'on-message': { type: 'string' },
  'on-message-signal': { type: 'string' },
  replace: { type: 'boolean' },
  slots: { type: 'string' },
  'keep-running': { type: 'boolean' },
  'until-success': { type: 'boolean' },
  'until-failure': { type: 'boolean' },
} as const satisfies Options;

const COMMANDS: readonly CommandName[] = ['run', 'status', 'list', 'wait', 'send', 'stop'];

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
      const { values, name } = parseSimple('status', rest, { ...LOCK_OPTIONS, json: { type: 'boolean' }, slots: { type: 'string' } }, true);
      if (values === undefined) return { command: 'help', topic: 'status' };
      return { command: 'status', name, lock: lockArgs(values, 'status'), json: values['json'] === true, slots: slotCount(values['slots'], 'status') };
    }
    case 'list': {
      const { values } = parseSimple('list', rest, { ...LOCK_OPTIONS, json: { type: 'boolean' } }, false);
      if (values === undefined) return { command: 'help', topic: 'list' };
      return { command: 'list', lock: lockArgs(values, 'list'), json: values['json'] === true };
    }
    case 'wait': {
      const options = { ...LOCK_OPTIONS, timeout: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, slots: { type: 'string' } } as const;
      const { values, name } = parseSimple('wait', rest, options, true);
      if (values === undefined) return { command: 'help', topic: 'wait' };
      const timeoutSeconds = seconds(values['timeout'], '--timeout', 'wait');
      return { command: 'wait', name, lock: lockArgs(values, 'wait'), timeoutSeconds, quiet: values['quiet'] === true, slots: slotCount(values['slots'], 'wait') };
    }
    case 'send':
      return parseSend(rest);
    case 'stop': {
      const options = { ...LOCK_OPTIONS, timeout: { type: 'string' }, 'kill-after': { type: 'string' } } as const;
      const { values, name } = parseSimple('stop', rest, options, true);
      if (values === undefined) return { command: 'help', topic: 'stop' };
      const graceSeconds = seconds(values['timeout'], '--timeout', 'stop') ?? 10;
      return { command: 'stop', name, lock: lockArgs(values, 'stop'), graceSeconds, killAfterSeconds: seconds(values['kill-after'], '--kill-after', 'stop') };
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
  const loops = (['keep-running', 'until-success', 'until-failure'] as const).filter((mode) => values[mode] === true);
  if (loops.length > 1) throw new UsageError(`--${loops[0] ?? ''} and --${loops[1] ?? ''} cannot be used together`, 'run');
  const onMessage = text(values['on-message']);
  const signal = text(values['on-message-signal']);
  const onMessageSignal = signal === undefined ? undefined : signalName(signal);
  if (signal !== undefined && onMessageSignal === undefined) throw new UsageError(`--on-message-signal: unknown signal '${signal}'`, 'run');
  if (onMessage !== undefined && onMessageSignal !== undefined) throw new UsageError('--on-message and --on-message-signal cannot be used together', 'run');
  const replace = values['replace'] === true;
  const slots = slotCount(values['slots'], 'run');
  if (replace && slots !== undefined) throw new UsageError('--replace and --slots cannot be used together', 'run');
  if (replace && values['forward'] === true) throw new UsageError('--replace and --forward cannot be used together', 'run');
  if (values['forward'] === true && (values['wait'] === true || timeoutSeconds !== undefined)) throw new UsageError('--forward and --wait cannot be used together', 'run');
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
    forward: values['forward'] === true,
    onMessage,
    onMessageSignal,
    replace,
    slots,
    loop: loops[0] ?? 'once',
  };
}

/** `send NAME [options] [--] [ARG...]`: everything after `--` (and positionals after NAME) is the argv sent. */
function parseSend(args: readonly string[]): Parsed {
  const dash = args.indexOf('--');
  const own = dash === -1 ? args : args.slice(0, dash);
  const after = dash === -1 ? [] : args.slice(dash + 1);
  const options = { ...LOCK_OPTIONS, json: { type: 'string' }, timeout: { type: 'string' } } as const;
  const { values, positionals } = strictParse('send', own, options);
  if (values['help'] === true) return { command: 'help', topic: 'send' };
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('missing lock NAME', 'send');
  let data: unknown = null;
  const json = text(values['json']);
  if (json !== undefined) {
    try {
      data = JSON.parse(json);
    } catch (error) {
      throw new UsageError(`--json: ${(error as Error).message}`, 'send');
    }
  }
  const timeoutSeconds = seconds(values['timeout'], '--timeout', 'send');
  if (timeoutSeconds === 0) throw new UsageError('--timeout must be more than 0 seconds', 'send');
  return { command: 'send', name, lock: lockArgs(values, 'send'), data, timeoutSeconds, argv: [...extra, ...after] };
}

/** Options that take a value in the next token when not written `--opt=value`. */
const RUN_VALUE_LONG = new Set(['--scope', '--prefix', '--backend', '--dir', '--expect-user', '--timeout', '--grace', '--conflict-exit-code', '--on-message', '--on-message-signal', '--slots']);
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

function slotCount(value: string | boolean | undefined, topic: CommandName): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^\d{1,4}$/u.test(value) || Number(value) < 1 || Number(value) > 1024) throw new UsageError(`--slots takes a number from 1 to 1024, got '${value}'`, topic);
  return Number(value);
}

function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isCommand(value: string): value is CommandName {
  return (COMMANDS as readonly string[]).includes(value);
}
