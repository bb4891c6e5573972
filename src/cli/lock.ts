import { spawn } from 'node:child_process';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { UsageError, type LockHolderSpec } from './parsed.js';

/** The line the holder process writes once the lock is held (see lock-holder.ts). @internal */
export const HELD_LINE = 'held\n';

/**
 * `onlyone lock NAME`: takes NAME for the life of the calling process (our parent, typically a script's
 * shell), as flock's `exec 9>f; flock -n 9` does. A command cannot hand a lock to its parent, so a holder
 * process takes it instead, in a session of its own, watches the caller through a pidfd and releases the
 * lock as soon as the caller ends, however it ends. We wait for its word ("held", or its error and exit
 * status) and exit with it. Our stdin pipe to it is its leash until then: if we die while it waits, it gives up.
 * @internal
 */
export async function lockForCaller(args: Extract<Parsed, { command: 'lock' }>): Promise<Outcome> {
  // Started by init (or orphaned already): the lock would be held until the machine stops.
  if (process.ppid <= 1) throw new UsageError("'onlyone lock' holds NAME for its calling process, and it has none (its parent is pid 1): use 'onlyone run NAME -- COMMAND'", 'lock');
  const { command: _, ...lock } = args;
  const spec: LockHolderSpec = { ...lock, callerPid: process.ppid, cliPid: process.pid };
  const holder = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', '__lock-holder', JSON.stringify(spec)], {
    // Its own session: the caller's terminal signals (^C, hangup) are not its business, the caller's death is.
    detached: true,
    // Not the caller's stdout: `x=$(onlyone lock NAME)` would wait for the holder to close it.
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: '/',
  });
  let stdout = '';
  let stderr = '';
  holder.stdout.setEncoding('utf8');
  holder.stderr.setEncoding('utf8');
  holder.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const outcome = await new Promise<Outcome>((resolve) => {
    holder.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.startsWith(HELD_LINE)) resolve({ code: ExitCode.ok });
    });
    holder.once('error', (error) => {
      stderr += `onlyone: cannot start the lock holder: ${error.message}\n`;
      resolve({ code: ExitCode.internal });
    });
    holder.once('close', (code, signal) => {
      if (signal !== null) stderr += `onlyone: the lock holder died of ${signal} before taking the lock\n`;
      resolve({ code: code ?? ExitCode.internal });
    });
  });
  // What the holder said before it held the lock or gave up (a conflict line, an error).
  if (stderr !== '') process.stderr.write(stderr);
  for (const stream of [holder.stdin, holder.stdout, holder.stderr]) stream.destroy();
  holder.unref();
  return outcome;
}
