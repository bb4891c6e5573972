// The holder side of `onlyone run`: what happens when a second instance sends a message.
// Loaded only when --on-message or --on-message-signal is given: a plain run never evaluates it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage, MessageHandler } from '../index.js';

/**
 * Most stdout taken from an --on-message command. Above the holder's reply cap (1 MiB), so that the holder's
 * own check answers `too_large` for replies just over it; beyond this the command is stopped (handler_error).
 */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** After SIGTERM, how long an abandoned --on-message command has before SIGKILL. */
const KILL_AFTER_MS = 2000;

/**
 * A handler that runs `/bin/sh -c command` for each message, with `{argv, cwd, data, from}` as JSON on its
 * stdin. Its stdout is the reply: the JSON value it holds if it parses, else the text itself (one trailing
 * newline removed; no output at all is `null`). A non-zero exit, or death by a signal, is an error reply
 * (the sender gets `handler_error`). When the reply is no longer wanted (holder timeout, sender gone) the
 * command's process group gets SIGTERM, then SIGKILL. Its stderr goes to ours.
 * @internal
 */
export function commandHandler(command: string): MessageHandler {
  return (message: IncomingMessage) => runCommand(command, message);
}

function runCommand(command: string, message: IncomingMessage): Promise<unknown> {
  const { argv, cwd, data, from, signal } = message;
  signal.throwIfAborted();
  // Its own process group, so that everything it started can be stopped with it.
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  const chunks: Buffer[] = [];
  let bytes = 0;
  let overflow = false;
  let killTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const stopGroup = (): void => {
    if (closed) return;
    killGroup(child, 'SIGTERM');
    killTimer ??= setTimeout(() => !closed && killGroup(child, 'SIGKILL'), KILL_AFTER_MS);
    killTimer.unref();
  };
  signal.addEventListener('abort', stopGroup, { once: true });
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_OUTPUT_BYTES) {
      if (!overflow) stopGroup();
      overflow = true;
      return;
    }
    chunks.push(chunk);
  });
  // A command that does not read its stdin makes our write fail with EPIPE: that is its business.
  child.stdin.on('error', () => {});
  child.stdin.end(JSON.stringify({ argv, cwd, data, from: { pid: from.pid ?? null, uid: from.uid ?? null, verified: from.verified } }));
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      signal.removeEventListener('abort', stopGroup);
      reject(new Error(`--on-message: cannot run /bin/sh: ${error.message}`));
    });
    child.on('close', (code, killedBy) => {
      closed = true;
      signal.removeEventListener('abort', stopGroup);
      clearTimeout(killTimer);
      if (overflow) reject(new Error(`--on-message command wrote more than ${MAX_OUTPUT_BYTES} bytes`));
      else if (killedBy !== null) reject(new Error(`--on-message command was killed by ${killedBy}`));
      else if (code !== 0) reject(new Error(`--on-message command exited with status ${String(code)}`));
      else resolve(reply(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

/** The command's output as a reply: its JSON value if it is JSON, else the text. */
function reply(output: string): unknown {
  if (output === '') return null;
  try {
    return JSON.parse(output) as unknown;
  } catch {
    return output.endsWith('\n') ? output.slice(0, -1) : output;
  }
}

/** Signals the command's process group, which may outlive the shell (a background job holding stdout). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * A handler that sends `signal` to the running command for each message and replies `{ signalled: SIG }`.
 * Between two runs of a loop there is no command: the sender gets `handler_error`.
 * @internal
 */
export function signalHandler(signal: NodeJS.Signals, current: () => ChildProcess | undefined): MessageHandler {
  return () => {
    const child = current();
    if (child === undefined || child.exitCode !== null || child.signalCode !== null || !child.kill(signal)) {
      throw new Error('the command is not running');
    }
    return { signalled: signal };
  };
}
