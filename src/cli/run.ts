import { acquire, type AcquireOptions, type Holder, type Lock, type MessageHandler, type RunRecord } from '../index.js';
import type { Parsed } from './args.js';
import { type Outcome } from './exit-codes.js';
import { lockOptions } from './lock-options.js';
import { Supervisor } from './supervise.js';
import { monotonicMs } from '../monotonic.js';

type RunArgs = Extract<Parsed, { command: 'run' }>;

/** With --forward, how often a holder that vanished between our conflict and our message is raced again. */
const FORWARD_ATTEMPTS = 3;

/**
 * `onlyone run`: takes the lock (failing fast, waiting, or replacing its holder), runs the command holding it
 * (once, or in a loop), forwards signals, and ends the way the command ended. With --forward, a conflict
 * sends our command line to the holder instead and prints its reply.
 * @throws the library's errors other than contention (the caller maps them to exit codes).
 * @internal
 */
export async function run(parsed: RunArgs): Promise<Outcome> {
  const args = parsed.nameFrom !== undefined ? { ...parsed, name: (await import('./auto-name.js')).commandLockName(parsed.nameFrom) } : parsed;
  const supervisor = new Supervisor(args);
  const onMessage = await messageHandler(args, supervisor);
  for (let attempt = 1; ; attempt++) {
    const taken = await take(args, supervisor, onMessage);
    if (taken.lock !== undefined) {
      if (taken.lock.replaced !== undefined && !args.quiet) process.stderr.write(`onlyone: replaced the previous holder (${taken.lock.replaced})\n`);
      // --exec: no supervisor; the command replaces us and holds the lock itself.
      if (args.exec) return (await import('./exec.js')).execHolding(taken.lock, args);
      if (args.schedule.coalesce) (await import('./coalesce.js')).coalesceReruns(taken.lock, supervisor, args.quiet);
      return supervisor.supervise(taken.lock);
    }
    if (taken.busy === undefined) return { code: args.conflictCode };
    if (args.schedule.coalesce) {
      // Ask the holder to run once more; undefined: it was about to release, so race for the lock again.
      const triggered = await (await import('./coalesce.js')).trigger(args);
      if (triggered !== undefined) return triggered;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * attempt)));
      continue;
    }
    const forwarded = await forward(args, taken.busy, attempt < FORWARD_ATTEMPTS);
    if (forwarded !== undefined) return forwarded;
  }
}

interface Busy {
  readonly holder: Holder | undefined;
  send(data: unknown, options: { argv: readonly string[] }): Promise<unknown>;
}

async function take(args: RunArgs, supervisor: Supervisor, onMessage: MessageHandler | undefined): Promise<{ lock?: Lock; busy?: Busy }> {
  const options = lockOptions(args.lock);
  const progress = args.wait && process.stderr.isTTY && !args.quiet ? await startProgress(args.name, options) : undefined;
  const graceMs = args.graceSeconds * 1000;
  const acquireOptions: AcquireOptions = {
    ...options,
    wait: args.wait,
    ...(args.timeoutSeconds === undefined ? {} : { timeoutMs: args.timeoutSeconds * 1000 }),
    command: args.argv,
    // A polite release request stops the command; the lock goes when it (and with it the inherited fd) ends.
    onReleaseRequest: (from) => supervisor.releaseRequested(from.pid),
    ...(onMessage === undefined ? {} : { onMessage }),
    ...(args.slots === undefined ? {} : { slots: args.slots }),
    ...(args.idleSessionTimeoutMs === undefined ? {} : { idleSessionTimeoutMs: args.idleSessionTimeoutMs }),
    ...(args.ttlSeconds === undefined ? {} : { ttlSeconds: args.ttlSeconds }),
    ...(args.replace ? { replace: { graceMs, killAfterMs: graceMs } } : {}),
    ...(await scheduled(args)),
  };
  const startedAt = monotonicMs();
  try {
    const lock = await acquire(args.name, acquireOptions);
    if (args.verbose) {
      const { formatCommand } = await import('./format.js');
      const took = ((monotonicMs() - startedAt) / 1000).toFixed(6);
      process.stderr.write(`onlyone: getting lock ${args.name} took ${took} seconds\nonlyone: executing ${formatCommand(args.argv)}\n`);
    }
    return { lock };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_ALREADY_RAN') {
      progress?.stop();
      if (!args.quiet) process.stderr.write((await import('./once-per.js')).alreadyRanText(args.name, (error as { lastRun: RunRecord }).lastRun, args.schedule.timeZone));
      return {};
    }
    if (code !== 'ERR_LOCK_BUSY' && code !== 'ERR_LOCK_TIMEOUT') throw error;
    progress?.stop();
    if (code === 'ERR_LOCK_BUSY' && (args.forward || args.schedule.coalesce)) return { busy: error as Busy };
    if (!args.quiet) await reportConflict(args.name, (error as { holder?: Holder }).holder, code === 'ERR_LOCK_TIMEOUT' ? args.timeoutSeconds : undefined, args.nameFrom !== undefined ? args.argv : undefined);
    return {};
  } finally {
    progress?.stop();
  }
}

/** Sends our command line and cwd to the holder and prints its reply; undefined: it vanished, race for the lock again. */
async function forward(args: RunArgs, busy: Busy, mayRetry: boolean): Promise<Outcome | undefined> {
  try {
    // cwd is the library's default: ours, or '' if our directory was deleted (process.cwd() would throw).
    const reply = await busy.send(null, { argv: args.argv });
    const { printReply } = await import('./send.js');
    await printReply(reply);
    return { code: 0 };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_NOT_HELD' && mayRetry) return undefined;
    throw error;
  }
}

/** --once-per, --min-hold: loaded only when asked for. */
async function scheduled(args: RunArgs): Promise<AcquireOptions> {
  const { oncePerMs, minHoldMs, coalesce } = args.schedule;
  return oncePerMs === undefined && minHoldMs === undefined && !coalesce ? {} : (await import('./once-per.js')).scheduleOptions(args.schedule);
}

async function messageHandler(args: RunArgs, supervisor: Supervisor): Promise<MessageHandler | undefined> {
  if (args.onMessage === undefined && args.onMessageSignal === undefined) return undefined;
  const { commandHandler, signalHandler } = await import('./on-message.js');
  if (args.onMessage !== undefined) return commandHandler(args.onMessage);
  return signalHandler(args.onMessageSignal ?? 'SIGHUP', () => supervisor.child);
}

/** Prints the one-line conflict message. Loaded lazily: the happy path never formats a holder. @internal */
export async function reportConflict(name: string, holder: Holder | undefined, waitedSeconds: number | undefined, command?: readonly string[]): Promise<void> {
  const { formatCommand, holderSummary, printable } = await import('./format.js');
  const what = waitedSeconds === undefined ? 'is already running' : `is still running after waiting ${waitedSeconds}s`;
  // A name derived from the command line means nothing to a reader: name the command, and the lock after it.
  const subject = command === undefined ? printable(name) : `'${formatCommand(command)}' (lock ${printable(name)})`;
  process.stderr.write(`onlyone: ${subject} ${what} (${holderSummary(holder)})\n`);
}

async function startProgress(name: string, options: ReturnType<typeof lockOptions>): Promise<{ stop(): void }> {
  const [{ startProgress: start }, { status }] = await Promise.all([import('./progress.js'), import('../index.js')]);
  return start(name, () => status(name, options));
}
