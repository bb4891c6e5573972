import { exitStatus, LOCK_OPTIONS, lockArgs, seconds, slotCount, strictParse, text, type Options } from './arg-values.js';
import { DURATION_WITH_UNIT } from './duration.js';
import { refuseFlockOnly, shellCommand } from './flock-compat.js';
import { loopDelays } from './loop-policy.js';
import { SCHEDULE_OPTIONS, scheduleArgs } from './args-schedule.js';
import { UsageError, type Parsed } from './parsed.js';
import { splitRunTokens } from './run-tokens.js';
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
  ttl: { type: 'string' },
  forward: { type: 'boolean' },
  'on-message': { type: 'string' },
  'on-message-signal': { type: 'string' },
  replace: { type: 'boolean' },
  slots: { type: 'string' },
  'keep-running': { type: 'boolean' },
  'until-success': { type: 'boolean' },
  'until-failure': { type: 'boolean' },
  'restart-delay': { type: 'string' },
  'max-delay': { type: 'string' },
  // flock(1)'s options: the one-letter forms are expanded by splitRunTokens (flock-compat.ts).
  nonblock: { type: 'boolean' },
  exclusive: { type: 'boolean' },
  close: { type: 'boolean' },
  command: { type: 'string' },
  verbose: { type: 'boolean' },
  shared: { type: 'boolean' },
  unlock: { type: 'boolean' },
  fcntl: { type: 'boolean' },
  start: { type: 'string' },
  length: { type: 'string' },
  exec: { type: 'boolean' },
  ...SCHEDULE_OPTIONS,
} as const satisfies Options;

/**
 * Parses `run [options] NAME -- COMMAND [ARG...]`.
 * @throws UsageError
 * @internal
 */
export function parseRun(args: readonly string[]): Parsed {
  const { optionTokens, command } = splitRunTokens(args, RUN_OPTIONS);
  const { values, positionals } = strictParse('run', optionTokens, RUN_OPTIONS);
  if (values['help'] === true) return { command: 'help', topic: 'run' };
  refuseFlockOnly(values);
  const [name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`, 'run');
  if (name !== undefined && DURATION_WITH_UNIT.test(name)) {
    throw new UsageError(`'${name}' is a duration, not a lock NAME: to wait that long, write -w ${name} NAME`, 'run');
  }
  const shell = text(values['command']);
  if (shell !== undefined && command.length > 0) throw new UsageError(`-c/--command and a COMMAND (${command[0] ?? ''}) cannot be used together`, 'run');
  const argv = shell === undefined ? command : shellCommand(shell);
  const [file, ...commandArgs] = argv;
  if (file === undefined) {
    if (name !== undefined && /^\d+$/u.test(name)) throw new UsageError(`missing COMMAND; flock's 'flock ${name}' locks an open descriptor: for the rest of a script, use 'onlyone lock NAME'`, 'run');
    throw new UsageError(name === undefined ? 'missing NAME and COMMAND' : 'missing COMMAND (write it after --)', 'run');
  }
  const timeoutSeconds = seconds(values['timeout'], '--wait/--timeout', 'run');
  if (values['nonblock'] === true && (values['wait'] === true || timeoutSeconds !== undefined)) throw new UsageError('-n/--nonblock and -w/--wait cannot be used together', 'run');
  const loops = (['keep-running', 'until-success', 'until-failure'] as const).filter((mode) => values[mode] === true);
  if (loops.length > 1) throw new UsageError(`--${loops[0] ?? ''} and --${loops[1] ?? ''} cannot be used together`, 'run');
  for (const option of ['restart-delay', 'max-delay'] as const) {
    if (values[option] !== undefined && loops.length === 0) throw new UsageError(`--${option} needs --keep-running, --until-success or --until-failure`, 'run');
  }
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
  const ttlSeconds = ttlOption(values['ttl'], lock.backend);
  const exec = values['exec'] === true;
  if (exec) refuseWithExec(values, lock.backend, loops[0]);
  return {
    command: 'run',
    // No NAME: run-one's habit, the command line names the lock (main.ts derives the name).
    name: name ?? '',
    nameFrom: name !== undefined ? undefined : shell === undefined ? argv : ['sh', '-c', shell],
    lock,
    wait: values['wait'] === true || timeoutSeconds !== undefined,
    timeoutSeconds,
    conflictCode: exitStatus(values['conflict-exit-code']),
    quiet: values['quiet'] === true,
    inherit: values['no-inherit'] !== true && values['close'] !== true,
    verbose: values['verbose'] === true,
    graceSeconds: seconds(values['grace'], '--grace', 'run') ?? 10,
    idleSessionTimeoutMs: idleSeconds === undefined ? undefined : Math.round(idleSeconds * 1000),
    ttlSeconds,
    argv: [file, ...commandArgs],
    delays: loopDelays(seconds(values['restart-delay'], '--restart-delay', 'run'), seconds(values['max-delay'], '--max-delay', 'run')),
    forward: values['forward'] === true,
    onMessage,
    onMessageSignal,
    replace,
    slots,
    loop: loops[0] ?? 'once',
    exec,
    schedule: scheduleArgs(values),
  };
}

/** `--ttl DURATION`: the etcd lease's TTL, whole seconds (etcd has no finer unit): `30`, `30s`, `2m`. */
function ttlOption(value: string | boolean | undefined, backend: string | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^etcds?(?::\/\/|$)/iu.test(backend ?? '')) throw new UsageError('--ttl needs the etcd backend (--backend etcd://...)', 'run');
  const ttl = seconds(value, '--ttl', 'run');
  if (ttl === undefined || !Number.isInteger(ttl) || ttl < 1) throw new UsageError(`--ttl takes whole seconds from 1 (30, 30s, 2m), got '${value}'`, 'run');
  return ttl;
}

/** Options whose work needs onlyone to stay beside the command, which `--exec` gives up. */
// --once-per records the run's exit, --min-hold keeps the lock past it, --coalesce starts the next run.
const NEEDS_SUPERVISOR = ['on-message', 'on-message-signal', 'no-inherit', 'close', 'once-per', 'min-hold', 'coalesce'] as const;

/**
 * `--exec` replaces onlyone with the command: nothing is left to restart it, answer messages, renew a lease or
 * kill it when a lease is lost. Refuse the options that need that, by name.
 * @throws UsageError
 */
function refuseWithExec(values: Readonly<Record<string, unknown>>, backend: string | undefined, loop: string | undefined): void {
  const why = 'needs onlyone to stay and supervise the command';
  if (loop !== undefined) throw new UsageError(`--exec cannot be used with --${loop}: it ${why}`, 'run');
  for (const option of NEEDS_SUPERVISOR) {
    if (values[option] === undefined) continue;
    const reason = option === 'no-inherit' || option === 'close' ? 'with --exec the command holds the lock itself' : `it ${why}`;
    throw new UsageError(`--exec cannot be used with --${option}: ${reason}`, 'run');
  }
  const kind = /^([a-z][a-z0-9+.-]*)(?::|$)/iu.exec(backend ?? '')?.[1]?.toLowerCase();
  if (kind !== undefined && kind !== 'abstract' && kind !== 'lockfile') {
    throw new UsageError(`--exec cannot be used with the ${kind === 'postgresql' ? 'postgres' : kind} backend: its lease ${why}`, 'run');
  }
}
