import { accessSync, constants, statSync } from 'node:fs';
import { commandCandidates } from './command-path.js';
import { constants as os } from 'node:os';
import type { Lock } from '../index.js';
import type { Parsed } from './args.js';
import { caller } from './caller.js';
import { loadExecLibc, type ExecLibc } from './exec-native.js';
import { ExitCode, type Outcome } from './exit-codes.js';

type RunArgs = Extract<Parsed, { command: 'run' }>;

const F_GETFL = 3;
const F_SETFL = 4;
const F_SETFD = 2;
const O_NONBLOCK = 0o4000;
/** Signals Node ignores for itself; an ignored signal stays ignored across execve(2), a caught one does not. */
const NODE_IGNORED: readonly NodeJS.Signals[] = ['SIGPIPE', 'SIGXFSZ'];

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/**
 * `run --exec` (flock's `-F`): replaces this process with the command, as execve(2) does, so there is no
 * wrapper left: the command keeps our pid (`$!` is the command) and holds the lock itself, on the descriptor
 * `ONLYONE_FD` names. `process.execve` where Node has it (22.15, 24), execve(2) through koffi before that;
 * koffi also clears close-on-exec on the lock's descriptor, so koffi is required either way.
 * Returns only when the command could not be started, after releasing the lock.
 * @internal
 */
export async function execHolding(lock: Lock, args: RunArgs): Promise<Outcome> {
  const [file, ...rest] = args.argv;
  const fd = lock.fd;
  const fail = async (message: string, code: number): Promise<Outcome> => {
    await lock.release();
    process.stderr.write(`onlyone: ${message}\n`);
    return { code };
  };
  if (fd === undefined || lock.lease !== undefined) return fail(`--exec cannot be used with the ${lock.backend} backend: its lock is not a descriptor the command could hold`, ExitCode.usage);
  const path = resolveCommand(file);
  if (path === undefined) return fail(`${file}: command not found`, ExitCode.notFound);
  let libc: ExecLibc;
  try {
    libc = await loadExecLibc();
  } catch (error) {
    return fail(`--exec needs koffi (an optional dependency) to hand the lock's descriptor to the command: ${(error as Error).message}`, ExitCode.unavailable);
  }
  const env = commandEnv(lock, fd);
  // Caught signals are reset to their default by execve(2); Node's own ignored ones would otherwise stay ignored.
  for (const signal of NODE_IGNORED) process.on(signal, () => {});
  // As flock(1) would pass them: the caller's descriptors (node marked them close-on-exec) and ignored signals.
  const from = caller();
  for (const inherited of from.fds ?? []) libc.fcntl(inherited, F_SETFD, 0);
  for (const signal of from.ignored) {
    const number = os.signals[signal];
    if (number !== undefined) libc.ignore(number);
  }
  if (libc.fcntl(fd, F_SETFD, 0) !== 0) return fail(`--exec: cannot keep the lock's descriptor open across exec (errno ${libc.errno()})`, ExitCode.internal);
  const execve = (process as unknown as { execve?: Execve }).execve;
  try {
    if (typeof execve === 'function') execve.call(process, path, [file, ...rest], env);
    else execWithKoffi(libc, path, [file, ...rest], env);
  } catch (error) {
    libc.fcntl(fd, F_SETFD, 1);
    return fail(`${file}: ${(error as Error).message}`, ExitCode.cannotExecute);
  }
  libc.fcntl(fd, F_SETFD, 1);
  return fail(`${file}: cannot execute (errno ${libc.errno()})`, ExitCode.cannotExecute);
}

/**
 * execve(2) through koffi (Node 20). First what process.execve does for us: Node 20 marks stdio close-on-exec
 * (measured: /proc/self/fdinfo), and a pipe it used is non-blocking; both would break the command.
 */
function execWithKoffi(libc: ExecLibc, path: string, argv: readonly string[], env: NodeJS.ProcessEnv): void {
  for (const stdio of [0, 1, 2]) {
    libc.fcntl(stdio, F_SETFD, 0);
    const flags = libc.fcntl(stdio, F_GETFL, 0);
    if (flags >= 0 && (flags & O_NONBLOCK) !== 0) libc.fcntl(stdio, F_SETFL, flags & ~O_NONBLOCK);
  }
  const envp = Object.entries(env).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));
  libc.execve(path, [...argv, null], [...envp, null]);
}

/** The command's environment: ours, plus what `run` always tells a command about its lock. */
function commandEnv(lock: Lock, fd: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ONLYONE_NAME: lock.name, ONLYONE_SCOPE: lock.scope, ONLYONE_FD: String(fd) };
  // Values inherited from an outer onlyone would describe the wrong lock.
  delete env['ONLYONE_FENCE'];
  delete env['ONLYONE_SLOT'];
  if (lock.slot !== undefined) env['ONLYONE_SLOT'] = String(lock.slot);
  return env;
}

/** `file` as execvp(3) would find it: a path as given, otherwise the first executable file of that name on PATH. */
function resolveCommand(file: string): string | undefined {
  for (const candidate of commandCandidates(file)) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here: try the next directory.
    }
  }
  return undefined;
}
