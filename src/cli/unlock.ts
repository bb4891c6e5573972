import { acquire, send } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { UNLOCK_REQUEST } from './lock-holder.js';
import { lockOptions } from './lock-options.js';

/** How long `unlock` waits to see the lock free after the holder agreed: a release takes milliseconds. */
const FREED_WITHIN_MS = 5000;

/**
 * `onlyone unlock NAME`: asks the holder that `onlyone lock NAME` left to release NAME early. It agrees only
 * when we are a child of the process it holds NAME for. Exit 0 when NAME was released, 1 when nobody holds
 * it, 75 when it is held by someone else (another script, or not through `onlyone lock`).
 * @throws the library's errors (mapped by main).
 * @internal
 */
export async function unlockForCaller(args: Extract<Parsed, { command: 'unlock' }>): Promise<Outcome> {
  const options = lockOptions(args.lock);
  const backend = options.backend;
  if (backend !== undefined && backend !== 'abstract' && backend !== 'lockfile') {
    process.stderr.write(`onlyone: unlock talks to the holder over its socket, which the ${backend} backend does not have; ${args.name} is freed when the script that locked it ends\n`);
    return { code: ExitCode.unavailable };
  }
  let reply: unknown;
  try {
    reply = await send(args.name, { request: UNLOCK_REQUEST }, { ...options, argv: ['onlyone', 'unlock', args.name] });
  } catch (error) {
    const remote = (error as { remoteCode?: unknown }).remoteCode;
    if (remote !== 'no_handler' && remote !== 'forbidden') throw error;
    return refused(args, remote === 'forbidden' ? "it is another user's" : "it was not taken with 'onlyone lock'");
  }
  const answer = reply as { unlocked?: unknown; reason?: unknown } | null;
  if (answer?.unlocked !== true) return refused(args, typeof answer?.reason === 'string' ? answer.reason.replace('NAME', args.name) : 'the holder said no');
  // The holder releases right after its answer: return once that has happened, so a next `run` finds it free.
  try {
    const lock = await acquire(args.name, { ...options, wait: true, timeoutMs: FREED_WITHIN_MS, command: ['onlyone', 'unlock', args.name] });
    await lock.release();
  } catch {
    // Someone else took it meanwhile: it is still not ours any more.
  }
  return { code: ExitCode.ok };
}

function refused(args: { readonly name: string; readonly quiet: boolean }, why: string): Outcome {
  if (!args.quiet) process.stderr.write(`onlyone: cannot unlock ${args.name}: ${why}\n`);
  return { code: ExitCode.conflict };
}
