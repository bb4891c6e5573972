import { spawn, type ChildProcess } from 'node:child_process';
import { existsOnPath } from './command-path.js';
import type { Lock } from '../index.js';
import { CommandTree } from './command-tree.js';
import { caller } from './caller.js';
import { commandSpawn } from './command-spawn.js';
import { deathSignalAvailable } from './death-signal.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import type { LeaseGuard } from './lease-guard.js';
import { Backoff } from './loop-policy.js';

type RunArgs = Extract<Parsed, { command: 'run' }>;
type Ended = { readonly code: number | null; readonly signal: NodeJS.Signals | null } | { readonly error: Error };

/** A command to run under the lock: `run`'s own, or a rerun a trigger asked for (--coalesce). @internal */
export interface Command {
  readonly argv: readonly [string, ...string[]];
  /** Undefined: ours. */
  readonly cwd?: string | undefined;
  /** Undefined: ours. */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** Signals passed on to the command; the command decides what they mean. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
/** Signals that stop onlyone: they reach the command's whole tree, and what is left after --grace is SIGKILLed. */
const STOPPING: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);

/**
 * Runs `run`'s command while holding the lock: once, or again and again (`--keep-running`, `--until-success`,
 * `--until-failure`) under the same lock, so no other instance can slip in between two runs. Signals go to
 * the current command; SIGINT and SIGTERM, a release request, or a lost lock also end the loop.
 * @internal
 */
export class Supervisor {
  readonly #args: RunArgs;
  #child: ChildProcess | undefined;
  #stopping = false;
  /** The stopping signal (INT, TERM, HUP) that ended a loop: received during a pause, it is how we end. */
  #stopSignal: NodeJS.Signals | undefined;
  #wake: (() => void) | undefined;
  /** Signals that arrived before the first command was spawned. Between two runs of a loop, they are dropped. */
  readonly #early: NodeJS.Signals[] = [];
  #spawned = false;
  /** On a leased lock: the process that kills the command if we are stopped past the lease, or die. */
  #guard: LeaseGuard | undefined;
  /** Every process the command started, wherever it went. */
  readonly #tree = new CommandTree();
  /** When a stop began: Date.now() past which what is left of the tree is SIGKILLed. */
  #stopDeadline: number | undefined;
  #stopTimer: NodeJS.Timeout | undefined;
  #command: Command;
  /** --coalesce: asked when a run ends (unless we are stopping); the command to run next under the same lock, if any. */
  nextRun: ((ended: Outcome) => Promise<Command | undefined>) | undefined;

  constructor(args: RunArgs) {
    this.#args = args;
    this.#command = { argv: args.argv };
  }

  /** The command running now, if any (for --on-message-signal). */
  get child(): ChildProcess | undefined {
    return this.#child;
  }

  /** Another instance asked us to release (`stop`, `--replace`): SIGTERM to the command, and no restart. */
  releaseRequested(pid: number | undefined): void {
    if (!this.#args.quiet) process.stderr.write(`onlyone: release requested${pid === undefined ? '' : ` by pid ${pid}`}; stopping the command\n`);
    this.#stop('SIGTERM');
  }

  #stop(signal: NodeJS.Signals): void {
    this.#stopping = true;
    this.#armKill();
    if (this.#child !== undefined) this.#tree.signal(signal);
    // Before the first command is spawned: it gets the signal as soon as it exists.
    else if (!this.#spawned) this.#early.push(signal);
    this.#wake?.();
  }

  readonly #forward = (signal: NodeJS.Signals): void => {
    if (STOPPING.has(signal)) {
      this.#stopping = true;
      this.#stopSignal ??= signal;
      this.#armKill();
    }
    // A stop reaches the whole tree (a shell's foreground child too, as timeout(1) does); other signals the command.
    if (this.#child !== undefined) {
      if (STOPPING.has(signal)) this.#tree.signal(signal);
      else this.#child.kill(signal);
    } else if (!this.#spawned) this.#early.push(signal);
    if (this.#stopping) this.#wake?.();
  };

  /** A stop began: what is left of the tree after --grace is SIGKILLed, even if the command itself has ended. */
  #armKill(): void {
    if (this.#stopDeadline !== undefined) return;
    this.#stopDeadline = Date.now() + this.#args.graceSeconds * 1000;
    this.#stopTimer = setTimeout(() => this.#tree.kill(), this.#args.graceSeconds * 1000);
  }

  /** Runs the command (in a loop if asked), then releases the lock. Resolves with how the last run ended. */
  async supervise(lock: Lock): Promise<Outcome> {
    // Listen before spawning: the command may run (and be signalled) before spawn() even returns here. A signal the
    // caller ignored (nohup) stays ignored: node reset it to its default action, so a listener that does nothing.
    const { ignored } = caller();
    const handled = FORWARDED.map((signal): [NodeJS.Signals, (signal: NodeJS.Signals) => void] => [signal, ignored.includes(signal) ? ignore : this.#forward]);
    for (const [signal, handler] of handled) process.on(signal, handler);
    try {
      if (lock.lease !== undefined) this.#guard = (await import('./lease-guard.js')).LeaseGuard.start(lock, this.#tree.marker);
      if (this.#guard?.pid !== undefined) this.#tree.exclude(this.#guard.pid);
      if (this.#guard !== undefined && !this.#args.quiet && !deathSignalAvailable()) {
        process.stderr.write('onlyone: setpriv (util-linux) not found: if onlyone and its lease guard are both killed, the command keeps running\n');
      }
      const outcome = await this.#loop(lock);
      // --once-per: the run record keeps how the command ended (written by release()).
      lock.recordExit('code' in outcome ? outcome.code : outcome.signal);
      return outcome;
    } finally {
      for (const [signal, handler] of handled) process.off(signal, handler);
      clearTimeout(this.#stopTimer);
      this.#guard?.done();
      await lock.release();
    }
  }

  async #loop(lock: Lock): Promise<Outcome> {
    const env = { ...commandEnv(lock), ...this.#tree.env };
    const backoff = new Backoff(this.#args.delays);
    for (;;) {
      const startedAt = Date.now();
      const { ended, lost } = await this.#runOnce(lock, env);
      if ('error' in ended) {
        const failed = cannotRun(this.#command.argv[0], ended.error);
        // --coalesce: a rerun that cannot start still ends, and whoever waits for it hears how.
        const next = this.#stopping ? undefined : await this.nextRun?.(failed);
        if (next === undefined) return failed;
        this.#command = next;
        continue;
      }
      if (lost) return { code: ExitCode.lost };
      const outcome: Outcome = ended.signal !== null ? { signal: ended.signal } : { code: ended.code ?? ExitCode.internal };
      const success = 'code' in outcome && outcome.code === 0;
      const next = this.#stopping ? undefined : await this.nextRun?.(outcome);
      if (next !== undefined) {
        this.#command = next;
        continue;
      }
      const mode = this.#args.loop;
      if (mode === 'once' || this.#stopping || (mode === 'until-success' && success) || (mode === 'until-failure' && !success)) return outcome;
      const delay = backoff.after({ lastedMs: Date.now() - startedAt, succeeded: success });
      if (!this.#args.quiet) {
        const how = 'code' in outcome ? `status ${outcome.code}` : outcome.signal;
        process.stderr.write(`onlyone: command ended (${how}); running it again in ${delay / 1000}s\n`);
      }
      await this.#sleep(delay);
      if (lock.signal.aborted) return { code: ExitCode.lost };
      // Stopped by a signal while no command ran: we end by that signal, as the command would have.
      if (this.#stopSignal !== undefined) return { signal: this.#stopSignal };
      if (this.#stopping) return outcome;
    }
  }

  /** Sleeps, unless a stop (signal, release request) comes first. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** SIGTERMs what is left of the tree (unless a stop already signalled it), then SIGKILLs it after the grace time. */
  async #reapLeftovers(lost: boolean, grace: number): Promise<void> {
    const signalled = this.#stopDeadline !== undefined || lost;
    if (!signalled && this.#tree.signal('SIGTERM') === 0) return;
    const killed = await this.#tree.drain(this.#stopDeadline ?? Date.now() + grace * 1000);
    if (killed.length > 0 && !this.#args.quiet) process.stderr.write(`onlyone: killed pid ${killed.join(', ')}, left by the command after ${grace}s\n`);
  }

  async #runOnce(lock: Lock, env: NodeJS.ProcessEnv): Promise<{ ended: Ended; lost: boolean }> {
    const { argv, cwd } = this.#command;
    // A rerun that brought its own environment (--coalesce --pass-env) gets it instead of ours.
    if (this.#command.env !== undefined) env = { ...commandEnv(lock, this.#command.env), ...this.#tree.env };
    const guardFailure = this.#guard?.failed.reason as Error | undefined;
    if (guardFailure !== undefined) {
      // Nothing could stop this run if we were stopped: do not start it.
      process.stderr.write(`onlyone: ${guardFailure.message}; not starting the command\n`);
      return { ended: { code: null, signal: null }, lost: true };
    }
    // With the lock's descriptor inherited, the lock lasts as long as the command, even if we die. On a leased lock,
    // the command dies with onlyone even if the guard is killed too (see death-signal.ts).
    const how = commandSpawn(argv, caller(), this.#args.inherit ? lock.fd : undefined, this.#guard !== undefined);
    if (how.lockFd !== undefined) env['ONLYONE_FD'] = String(how.lockFd);
    let child: ChildProcess;
    try {
      child = spawn(how.file, how.args, { stdio: how.stdio, env, ...(cwd === undefined || cwd === '' ? {} : { cwd }) });
    } catch (error) {
      return { ended: { error: error as Error }, lost: false };
    }
    this.#child = child;
    this.#tree.root = child.pid;
    this.#spawned = true;
    const guard = this.#guard;
    if (child.pid !== undefined) guard?.commandStarted(child.pid);
    for (const signal of this.#early.splice(0)) child.kill(signal);

    let lost = false;
    let killTimer: NodeJS.Timeout | undefined;
    const grace = this.#args.graceSeconds;
    // A lost lock may already be held elsewhere: the tree is frozen and killed at once. A dead guard leaves the lock
    // held, so the command gets the polite stop: SIGTERM, then SIGKILL after the grace time.
    const stopLost = (why: string, polite: boolean): void => {
      if (lost || child.exitCode !== null || child.signalCode !== null) return;
      lost = true;
      if (!polite) {
        process.stderr.write(`onlyone: ${why}; killing the command's process tree\n`);
        guard?.lockLost(0);
        this.#tree.kill();
        return;
      }
      process.stderr.write(`onlyone: ${why}; stopping the command (SIGTERM, then SIGKILL after ${grace}s)\n`);
      guard?.lockLost(grace * 1000 + 1000);
      this.#tree.signal('SIGTERM');
      killTimer = setTimeout(() => this.#tree.kill(), grace * 1000);
    };
    const onLost = (): void => {
      const reason = lock.signal.reason as { code?: unknown; message?: unknown } | undefined;
      if (reason?.code === 'ERR_LOCK_LOST') stopLost(String(reason.message), false);
    };
    const onGuardFailed = (): void => stopLost(`${(guard?.failed.reason as Error).message}, so a stop of onlyone could no longer be caught`, true);
    if (lock.signal.aborted) onLost();
    else lock.signal.addEventListener('abort', onLost, { once: true });
    if (guard?.failed.aborted === true) onGuardFailed();
    else guard?.failed.addEventListener('abort', onGuardFailed, { once: true });

    const ended = await new Promise<Ended>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // Kept for the child's lifetime: a later 'error' (a failed kill) must not go unhandled.
      child.on('error', (error) => {
        if (child.pid === undefined) resolve({ error });
      });
    });
    this.#child = undefined;
    this.#tree.root = undefined;
    // What the command left behind must not outlive this run: when we stop, when the lock was lost, and always on a
    // leased lock (the lock cannot follow those processes, unlike an inherited descriptor).
    if (this.#stopping || lost || guard !== undefined) await this.#reapLeftovers(lost, grace);
    if (child.pid !== undefined) guard?.commandExited(child.pid);
    clearTimeout(killTimer);
    lock.signal.removeEventListener('abort', onLost);
    guard?.failed.removeEventListener('abort', onGuardFailed);
    if (!lost && !lock.held) {
      // The lease ran out while we were stopped; the guard has killed the command (or it ended on its own).
      lost = true;
      const reason = lock.signal.reason as { message?: unknown } | undefined;
      const how = 'signal' in ended && ended.signal === 'SIGKILL' && guard !== undefined ? 'the lease guard killed the command' : 'the command ended without it';
      process.stderr.write(`onlyone: ${String(reason?.message)}; ${how}\n`);
    }
    return { ended, lost };
  }
}

/** For a signal the caller ignored. */
function ignore(): void {}

function commandEnv(lock: Lock, base: Readonly<Record<string, string | undefined>> = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ONLYONE_NAME: lock.name, ONLYONE_SCOPE: lock.scope };
  // Values inherited from an outer onlyone would describe the wrong lock.
  delete env['ONLYONE_FD'];
  delete env['ONLYONE_FENCE'];
  delete env['ONLYONE_SLOT'];
  delete env['ONLYONE_WINDOW'];
  if (lock.fence !== undefined) env['ONLYONE_FENCE'] = lock.fence;
  if (lock.slot !== undefined) env['ONLYONE_SLOT'] = String(lock.slot);
  // --once-per: the window's start, so a job can key its output on it (as Temporal puts it in the workflow id).
  if (lock.run !== undefined) env['ONLYONE_WINDOW'] = new Date(lock.run.window.start).toISOString();
  return env;
}

function cannotRun(file: string, error: unknown): Outcome {
  const reported = (error as NodeJS.ErrnoException).code;
  // EACCES from a PATH directory we may not search, with the command in none: not found, as a shell says.
  const code = reported === 'EACCES' && !existsOnPath(file) ? 'ENOENT' : reported;
  const why = code === 'ENOENT' ? 'command not found' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  process.stderr.write(`onlyone: ${file}: ${why}\n`);
  return { code: code === 'ENOENT' ? ExitCode.notFound : ExitCode.cannotExecute };
}
