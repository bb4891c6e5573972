import { exitStatus, LOCK_OPTIONS, lockArgs, NUMBER, seconds, slotCount, strictParse, text, type Options } from './arg-values.js';
import { UsageError, type Parsed } from './parsed.js';
import { signalName } from './signals.js';

const RUN_OPTIONS = {
  ...LOCK_OPTIONS,
  wait: { type: 'boolean', short: 'w' },
  timeout: { type: 'string' },
  'conflict-exit-code': { type: 'string', short: 'E' },
  quiet: { type: 'boolean', short: 'q' },
  'no-inherit': { type: 'boolean' },
  grace: { type: 'string' },
  'idle-session-timeout': { type: 'string' },
  forward: { type: 'boolean' },
  'on-message': { type: 'string' },
  'on-message-signal': { type: 'string' },
  replace: { type: 'boolean' },
  slots: { type: 'string' },
  'keep-running': { type: 'boolean' },
  'until-success': { type: 'boolean' },
  'until-failure': { type: 'boolean' },
} as const satisfies Options;

/**
 * Parses `run [options] NAME -- COMMAND [ARG...]`.
 * @throws UsageError
 * @internal
 */
export function parseRun(args: readonly string[]): Parsed {
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
  const lock = lockArgs(values, 'run');
  const idleSeconds = seconds(values['idle-session-timeout'], '--idle-session-timeout', 'run');
  if (idleSeconds !== undefined && !/^postgres(?:ql)?(?::\/\/|$)/iu.test(lock.backend ?? '')) {
    throw new UsageError('--idle-session-timeout needs the postgres backend (--backend postgres://...)', 'run');
  }
  return {
    command: 'run',
    name,
    lock,
    wait: values['wait'] === true || timeoutSeconds !== undefined,
    timeoutSeconds,
    conflictCode: exitStatus(values['conflict-exit-code']),
    quiet: values['quiet'] === true,
    inherit: values['no-inherit'] !== true,
    graceSeconds: seconds(values['grace'], '--grace', 'run') ?? 10,
    idleSessionTimeoutMs: idleSeconds === undefined ? undefined : Math.round(idleSeconds * 1000),
    argv: [file, ...commandArgs],
    forward: values['forward'] === true,
    onMessage,
    onMessageSignal,
    replace,
    slots,
    loop: loops[0] ?? 'once',
  };
}

/** Options that take a value in the next token when not written `--opt=value`. */
const RUN_VALUE_LONG = new Set(['--scope', '--prefix', '--backend', '--dir', '--expect-user', '--timeout', '--grace', '--idle-session-timeout', '--conflict-exit-code', '--on-message', '--on-message-signal', '--slots']);

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
