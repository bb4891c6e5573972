import { requestRerun, type Lock, type RerunResult } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { printable } from './format.js';
import { lockOptions } from './lock-options.js';
import type { Command, Supervisor } from './supervise.js';

type RunArgs = Extract<Parsed, { command: 'run' }>;

/**
 * --coalesce, holder side: when a run ends, the rerun triggers asked for meanwhile (the latest one's command)
 * runs next under the same lock, and the triggers that wait hear how it ended.
 * @internal
 */
export function coalesceReruns(lock: Lock, supervisor: Supervisor, quiet: boolean): void {
  let settle: ((exit: number | string) => void) | undefined;
  supervisor.nextRun = async (ended: Outcome): Promise<Command | undefined> => {
    settle?.('code' in ended ? ended.code : ended.signal);
    const next = await lock.takeRerun();
    settle = next?.settle;
    if (next === undefined) return undefined;
    const [file, ...rest] = next.argv;
    if (file === undefined) return undefined;
    if (!quiet) process.stderr.write(`onlyone: running ${printable(lock.name)} once more for ${next.triggers} trigger${next.triggers === 1 ? '' : 's'}\n`);
    return { argv: [file, ...rest], cwd: next.cwd, env: next.env };
  };
}

/**
 * --coalesce, trigger side: asks the holder for one more run. Resolves with how `run` ends (0 at once, or with
 * --wait the rerun's status), or undefined when the holder was about to release and we should race for the lock.
 * @throws the library's errors; a holder without --coalesce is reported as a conflict.
 * @internal
 */
export async function trigger(args: RunArgs): Promise<Outcome | undefined> {
  let reply: RerunResult;
  try {
    reply = await requestRerun(args.name, {
      ...lockOptions(args.lock),
      argv: args.argv,
      ...(args.schedule.passEnv ? { env: definedEnv() } : {}),
      wait: args.wait,
    });
  } catch (error) {
    const { code, remoteCode } = error as { code?: unknown; remoteCode?: unknown };
    if (code === 'ERR_NOT_HELD') return undefined;
    if (remoteCode === 'not_supported') {
      if (!args.quiet) process.stderr.write(`onlyone: ${printable(args.name)} is already running, and its holder was not started with --coalesce\n`);
      return { code: args.conflictCode };
    }
    throw error;
  }
  if (!reply.accepted) return undefined;
  if (!args.wait) {
    if (!args.quiet) process.stderr.write(`onlyone: ${printable(args.name)} is running; it will run once more when it ends (trigger ${reply.triggers} for that run)\n`);
    return { code: ExitCode.ok };
  }
  const exit = reply.exit;
  if (typeof exit === 'number') return { code: exit };
  return typeof exit === 'string' && /^SIG[A-Z0-9]+$/u.test(exit) ? { signal: exit as NodeJS.Signals } : { code: ExitCode.internal };
}

function definedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}
