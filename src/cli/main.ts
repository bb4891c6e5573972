#!/usr/bin/env node
// The `onlyone` command. This is the only module of onlyone that calls process.exit.
// Start-up is on the hot path of every cron job: command modules are imported only when chosen.
import { parseCli, UsageError, type Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { flushOutput, quietOnClosedOutput } from './output.js';

async function main(argv: readonly string[]): Promise<Outcome> {
  const parsed: Parsed = parseCli(argv);
  switch (parsed.command) {
    case 'help': {
      const { helpText } = await import('./help.js');
      process.stdout.write(helpText(parsed.topic));
      return { code: ExitCode.ok };
    }
    case 'version': {
      const [{ readFileSync, realpathSync }, { dirname, join }] = await Promise.all([import('node:fs'), import('node:path')]);
      // Not import.meta: this file may be bundled as CommonJS. dist/cli/main.js -> package.json.
      const pkg = JSON.parse(readFileSync(join(dirname(realpathSync(process.argv[1] ?? '')), '..', '..', 'package.json'), 'utf8')) as { version: string };
      process.stdout.write(`onlyone ${pkg.version}\n`);
      return { code: ExitCode.ok };
    }
    case 'run':
      return (await import('./run.js')).run(parsed);
    case 'status':
      return (await import('./status.js')).showStatus(parsed);
    case 'list':
      return (await import('./list.js')).showList(parsed);
    case 'wait':
      return (await import('./wait.js')).waitFree(parsed);
    case 'send':
      return (await import('./send.js')).sendMessage(parsed);
    case 'stop':
      return (await import('./stop.js')).stopHolder(parsed);
    case 'lock':
      return (await import('./lock.js')).lockForCaller(parsed);
    case 'unlock':
      return (await import('./unlock.js')).unlockForCaller(parsed);
    case 'lock-holder':
      return (await import('./lock-holder.js')).holdForCaller(parsed.spec);
  }
}

/** Maps an error to a message and an exit status. */
async function failure(error: unknown): Promise<Outcome> {
  if (error instanceof UsageError) {
    const { usageLine } = await import('./help.js');
    const more = error.topic === undefined ? 'onlyone --help' : `onlyone ${error.topic} --help`;
    process.stderr.write(`onlyone: ${error.message}\n${usageLine(error.topic)}\nTry '${more}'.\n`);
    return { code: ExitCode.usage };
  }
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const remoteCode = (error as { remoteCode?: unknown } | null)?.remoteCode;
  const exit = remoteCode === 'too_large' ? ExitCode.tooLarge : typeof code === 'string' ? EXIT_FOR_ERROR[code] : undefined;
  if (exit === undefined) {
    process.stderr.write(`onlyone: internal error: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
    return { code: ExitCode.internal };
  }
  process.stderr.write(`onlyone: ${(await import('./voice.js')).cliVoice(message)}\n`);
  return { code: exit };
}

/** The exit status for each library error code; anything else is an internal error. */
const EXIT_FOR_ERROR: Readonly<Record<string, number>> = {
  ERR_INVALID_OPTION: ExitCode.usage,
  ERR_INVALID_LOCK_NAME: ExitCode.usage,
  ERR_LOCK_SQUATTED: ExitCode.squatted,
  ERR_NOT_HELD: ExitCode.free,
  ERR_MESSAGE_TOO_LARGE: ExitCode.tooLarge,
  ERR_INVALID_MESSAGE: ExitCode.tooLarge,
  ERR_REMOTE: ExitCode.remote,
  ERR_PROTOCOL: ExitCode.remote,
  ERR_SEND_TIMEOUT: ExitCode.timeout,
  ERR_LOCK_BUSY: ExitCode.conflict,
  // A waiter whose own lease ran out (etcd) lost its place in the queue.
  ERR_LOCK_LOST: ExitCode.lost,
  ERR_UNSUPPORTED_PLATFORM: ExitCode.unavailable,
  ERR_UNSUPPORTED_RUNTIME: ExitCode.unavailable,
  ERR_BACKEND: ExitCode.unavailable,
  ERR_OS: ExitCode.os,
};

/** Ends the process the way the command ended: same status, or the same signal re-raised on ourselves. */
async function finish(outcome: Outcome): Promise<never> {
  // process.exit() does not wait for a pipe to take what was written: a reader slower than us would lose output.
  await flushOutput();
  if ('code' in outcome) process.exit(outcome.code);
  const { constants } = await import('node:os');
  const number = constants.signals[outcome.signal] ?? 0;
  // The command's core is the one worth having: a signal that dumps core is re-raised only once we cannot dump ours.
  if (!(await (await import('./no-core.js')).readyToReraise(outcome.signal))) process.exit(128 + number);
  // Without a listener the default action applies, so the parent sees "killed by SIGTERM" and not just 143.
  process.removeAllListeners(outcome.signal);
  try {
    process.kill(process.pid, outcome.signal);
  } catch {
    // Fall through to the shell convention below.
  }
  // Signals whose default action does not end us (or that Node ignores, like SIGPIPE) end as 128 + n.
  setTimeout(() => process.exit(128 + number), 200);
  return new Promise<never>(() => {});
}

quietOnClosedOutput();
main(process.argv.slice(2))
  .catch(failure)
  .then(finish, () => process.exit(ExitCode.internal));
