import { spawn, type ChildProcess } from 'node:child_process';
import { acquire, type Holder, type Lock } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { lockOptions } from './lock-options.js';

type RunArgs = Extract<Parsed, { command: 'run' }>;

/** Signals passed on to the command; the command decides what they mean. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * `onlyone run`: takes the lock (failing fast, or waiting), runs the command holding it, forwards signals,
 * and ends the way the command ended.
 * @throws the library's errors other than contention (the caller maps them to exit codes).
 * @internal
 */
export async function run(args: RunArgs): Promise<Outcome> {
  const lock = await take(args);
  if (lock === undefined) return { code: args.conflictCode };
  return supervise(lock, args);
}

async function take(args: RunArgs): Promise<Lock | undefined> {
  const options = lockOptions(args.lock);
  const progress = args.wait && process.stderr.isTTY ? await startProgress(args.name, options) : undefined;
  try {
    return await acquire(args.name, {
      ...options,
      wait: args.wait,
      ...(args.timeoutSeconds === undefined ? {} : { timeoutMs: args.timeoutSeconds * 1000 }),
      command: args.argv,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_LOCK_BUSY' && code !== 'ERR_LOCK_TIMEOUT') throw error;
    progress?.stop();
    if (!args.quiet) await reportConflict(args.name, (error as { holder?: Holder }).holder, code === 'ERR_LOCK_TIMEOUT' ? args.timeoutSeconds : undefined);
    return undefined;
  } finally {
    progress?.stop();
  }
}

/** Prints the one-line conflict message. Loaded lazily: the happy path never formats a holder. @internal */
export async function reportConflict(name: string, holder: Holder | undefined, waitedSeconds: number | undefined): Promise<void> {
  const { holderSummary, printable } = await import('./format.js');
  const what = waitedSeconds === undefined ? 'is already running' : `is still running after waiting ${waitedSeconds}s`;
  process.stderr.write(`onlyone: ${printable(name)} ${what} (${holderSummary(holder)})\n`);
}

async function startProgress(name: string, options: ReturnType<typeof lockOptions>): Promise<{ stop(): void }> {
  const [{ startProgress: start }, { status }] = await Promise.all([import('./progress.js'), import('../index.js')]);
  return start(name, () => status(name, options));
}

async function supervise(lock: Lock, args: RunArgs): Promise<Outcome> {
  const [file, ...rest] = args.argv;
  const fd = args.inherit ? lock.fd : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, ONLYONE_NAME: lock.name, ONLYONE_SCOPE: lock.scope };
  // Values inherited from an outer onlyone would describe the wrong lock.
  delete env['ONLYONE_FD'];
  delete env['ONLYONE_FENCE'];
  if (fd !== undefined) env['ONLYONE_FD'] = '3';
  if (lock.fence !== undefined) env['ONLYONE_FENCE'] = lock.fence;

  // Listen before spawning: the command may run (and be signalled) before spawn() even returns here.
  let started: ChildProcess | undefined;
  const early: NodeJS.Signals[] = [];
  const forward = (signal: NodeJS.Signals): void => {
    if (started === undefined) early.push(signal);
    else started.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  let child: ChildProcess;
  try {
    // With the lock's descriptor as the child's fd 3 the lock lasts as long as the command, even if we die.
    child = spawn(file, rest, { stdio: fd === undefined ? 'inherit' : ['inherit', 'inherit', 'inherit', fd], env });
  } catch (error) {
    for (const signal of FORWARDED) process.off(signal, forward);
    await lock.release();
    return cannotRun(file, error);
  }
  started = child;
  for (const signal of early) child.kill(signal);

  let lost = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onLost = (): void => {
    const reason = lock.signal.reason as { code?: unknown; message?: unknown } | undefined;
    if (reason?.code !== 'ERR_LOCK_LOST' || child.exitCode !== null || child.signalCode !== null) return;
    lost = true;
    process.stderr.write(`onlyone: ${String(reason.message)}; stopping the command (SIGTERM, then SIGKILL after ${args.graceSeconds}s)\n`);
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), args.graceSeconds * 1000);
  };
  if (lock.signal.aborted) onLost();
  else lock.signal.addEventListener('abort', onLost, { once: true });

  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // Kept for the child's lifetime: a later 'error' (a failed kill) must not go unhandled.
    child.on('error', (error) => {
      if (child.pid === undefined) resolve({ error });
    });
  });
  for (const signal of FORWARDED) process.off(signal, forward);
  clearTimeout(killTimer);
  lock.signal.removeEventListener('abort', onLost);
  await lock.release();

  if ('error' in ended) return cannotRun(file, ended.error);
  if (lost) return { code: ExitCode.lost };
  if (ended.signal !== null) return { signal: ended.signal };
  return { code: ended.code ?? ExitCode.internal };
}

function cannotRun(file: string, error: unknown): Outcome {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'command not found' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  process.stderr.write(`onlyone: ${file}: ${why}\n`);
  return { code: code === 'ENOENT' ? ExitCode.notFound : ExitCode.cannotExecute };
}
