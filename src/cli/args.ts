import { LOCK_OPTIONS, lockArgs, seconds, slotCount, strictParse, text, type Options, type Values } from './arg-values.js';
import { parseLock, parseLockHolder, parseUnlock } from './args-lock.js';
import { parseRun } from './args-run.js';
import { sendDataSource } from './send-data.js';
import { UsageError, type CommandName, type Parsed } from './parsed.js';

export { UsageError, type CommandName, type LockArgs, type LoopMode, type Parsed } from './parsed.js';

const COMMANDS: readonly CommandName[] = ['run', 'status', 'list', 'wait', 'send', 'stop', 'lock', 'unlock'];

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
  if (first === '__lock-holder') return parseLockHolder(rest);
  if (first === 'help') {
    const topic = rest[0];
    // `help --help` asks for help on help: the program's own help says what `help` does.
    if (topic === '-h' || topic === '--help') return { command: 'help', topic: undefined };
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
    case 'lock':
      return parseLock(rest);
    case 'unlock':
      return parseUnlock(rest);
    case 'stop': {
      const options = { ...LOCK_OPTIONS, timeout: { type: 'string' }, 'kill-after': { type: 'string' } } as const;
      const { values, name } = parseSimple('stop', rest, options, true);
      if (values === undefined) return { command: 'help', topic: 'stop' };
      const graceSeconds = seconds(values['timeout'], '--timeout', 'stop') ?? 10;
      return { command: 'stop', name, lock: lockArgs(values, 'stop'), graceSeconds, killAfterSeconds: seconds(values['kill-after'], '--kill-after', 'stop') };
    }
  }
}

function parseSimple(topic: CommandName, args: readonly string[], options: Options, wantsName: boolean): { values: Values | undefined; name: string } {
  const { values, positionals } = strictParse(topic, args, options);
  if (values['help'] === true) return { values: undefined, name: '' };
  const wanted = wantsName ? 1 : 0;
  if (positionals.length < wanted) throw new UsageError('missing lock NAME', topic);
  if (positionals.length > wanted) throw new UsageError(`unexpected argument '${positionals[wanted] ?? ''}'`, topic);
  return { values, name: positionals[0] ?? '' };
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
  const json = text(values['json']);
  const data = sendDataSource(json ?? 'null');
  const timeoutSeconds = seconds(values['timeout'], '--timeout', 'send');
  if (timeoutSeconds === 0) throw new UsageError('--timeout must be more than 0 seconds', 'send');
  return { command: 'send', name, lock: lockArgs(values, 'send'), data, timeoutSeconds, argv: [...extra, ...after] };
}

function isCommand(value: string): value is CommandName {
  return (COMMANDS as readonly string[]).includes(value);
}
