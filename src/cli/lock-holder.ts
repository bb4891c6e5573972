// The process behind `onlyone lock NAME`: it holds NAME for as long as the caller of `onlyone lock` lives.
import { acquire, type Holder, type IncomingMessage, type Lock } from '../index.js';
import { commandLine, parentPid } from './parent-process.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { HELD_LINE } from './lock.js';
import { lockOptions } from './lock-options.js';
import type { LockHolderSpec } from './parsed.js';
import { hasEnded, openPidfd, processEnded, signalPidfd } from './pidfd.js';
import { reportConflict } from './run.js';

/** The message `onlyone unlock` sends; only the caller's own processes may send it. @internal */
export const UNLOCK_REQUEST = 'onlyone-unlock';
/** The message a second `onlyone lock` of the same caller sends, to learn that the lock is already its own. */
const RELOCK_REQUEST = 'onlyone-relock';

/**
 * Holds the lock until the caller ends (its pidfd becomes readable), `onlyone unlock` from the same caller
 * asks, or the lock is lost. A release request (`onlyone stop`, `run --replace`) is passed on to the caller as
 * SIGTERM, as `run` does with its command: the lock goes when the caller has ended. A lost lock (leased
 * backends) also SIGTERMs the caller, which must not go on believing it runs alone.
 * @throws the library's errors other than contention, and PidfdUnavailableError (exit 69) without koffi.
 * @internal
 */
export async function holdForCaller(spec: LockHolderSpec): Promise<Outcome> {
  // After "held", nobody reads our output any more: a write must not kill the process that holds the lock.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const leash = new AbortController();
  process.stdin.once('close', () => leash.abort(new Error('onlyone lock ended before the lock was taken')));
  process.stdin.resume();

  const pidfd = await openPidfd(spec.callerPid);
  // pidfd_open took a pid: it is the caller only if `onlyone lock` still has it as its parent (it waits for us).
  if (process.ppid !== spec.cliPid || parentPid(spec.cliPid) !== spec.callerPid) {
    process.stderr.write('onlyone: the calling process ended before the lock was taken\n');
    return { code: ExitCode.internal };
  }
  const unlocked = new AbortController();
  const attempt = (wait: boolean): Promise<Lock> =>
    acquire(spec.name, {
      ...lockOptions(spec.lock),
      wait,
      ...(wait && spec.timeoutSeconds !== undefined ? { timeoutMs: spec.timeoutSeconds * 1000 } : {}),
      signal: leash.signal,
      command: callerCommand(spec),
      onReleaseRequest: () => void signalPidfd(pidfd, 'SIGTERM'),
      onMessage: (message) => unlockRequest(message, spec, pidfd, unlocked),
    });
  let lock: Lock;
  try {
    // Fail fast first, even with --wait: waiting for a lock this caller already holds would never end.
    lock = await attempt(false).catch(async (error: unknown) => {
      if ((error as { code?: unknown }).code !== 'ERR_LOCK_BUSY') throw error;
      // As flock on the same descriptor: locking what this caller already holds succeeds.
      if (await alreadyOurs(error)) throw new AlreadyHeld();
      if (!spec.wait) throw error;
      return attempt(true);
    });
  } catch (error) {
    if (error instanceof AlreadyHeld) {
      process.stdout.write(HELD_LINE);
      return { code: ExitCode.ok };
    }
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_LOCK_BUSY' && code !== 'ERR_LOCK_TIMEOUT') throw error;
    if (!spec.quiet) await reportConflict(spec.name, (error as { holder?: Holder }).holder, code === 'ERR_LOCK_TIMEOUT' ? spec.timeoutSeconds : undefined);
    return { code: spec.conflictCode };
  }
  try {
    if (leash.signal.aborted || (await hasEnded(pidfd))) return { code: ExitCode.ok };
    process.stdout.write(HELD_LINE);
    process.stdin.destroy();
    const lost = new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve(), { once: true }));
    const unlock = new Promise<void>((resolve) => unlocked.signal.addEventListener('abort', () => resolve(), { once: true }));
    const why = await Promise.race([processEnded(pidfd).then(() => 'ended' as const), unlock.then(() => 'unlocked' as const), lost.then(() => 'lost' as const)]);
    if (why === 'lost') await signalPidfd(pidfd, 'SIGTERM');
    return { code: ExitCode.ok };
  } finally {
    await lock.release();
  }
}

/** What `status` and `list` show as the holder's command: the caller's command line. */
function callerCommand(spec: LockHolderSpec): string[] {
  const argv = commandLine(spec.callerPid);
  return argv.length > 0 ? argv : ['onlyone', 'lock', spec.name];
}

/** The caller holds the lock already, through an earlier `onlyone lock`. */
class AlreadyHeld extends Error {}

/** Asks the holder that refused us whether it holds the lock for our caller already. */
async function alreadyOurs(busy: unknown): Promise<boolean> {
  try {
    const reply = await (busy as { send?: (data: unknown) => Promise<unknown> }).send?.({ request: RELOCK_REQUEST });
    return (reply as { mine?: unknown } | null)?.mine === true;
  } catch {
    // Not an `onlyone lock` holder (no handler), or gone meanwhile: a conflict like any other.
    return false;
  }
}

/**
 * Answers `onlyone unlock` (yes only to a process whose parent is our caller: the same script) and a second
 * `onlyone lock` (it is ours when the asking holder's `onlyone lock` was started by our caller).
 */
async function unlockRequest(message: IncomingMessage, spec: LockHolderSpec, pidfd: number, unlocked: AbortController): Promise<unknown> {
  const request = (message.data as { request?: unknown } | null)?.request;
  const { pid, verified } = message.from;
  if (request === RELOCK_REQUEST) {
    // The sender is a lock holder, whose parent `onlyone lock` waits for it; that one's parent is its caller.
    const caller = verified && pid !== undefined ? parentPid(parentPid(pid) ?? -1) : undefined;
    return { mine: caller === spec.callerPid && !(await hasEnded(pidfd)) };
  }
  if (request !== UNLOCK_REQUEST) return { unlocked: false, reason: 'this lock was taken with onlyone lock: only onlyone unlock talks to it' };
  if (!verified || pid === undefined) return { unlocked: false, reason: 'the sender could not be identified' };
  // The sender waits for our answer, so its pid cannot be reused while we read its parent.
  if (parentPid(pid) !== spec.callerPid || (await hasEnded(pidfd))) {
    return { unlocked: false, reason: `NAME was locked by pid ${spec.callerPid}, and only that process can unlock it (a subshell or another script cannot)` };
  }
  // After the reply has gone out: release() closes the connection that carries it.
  setImmediate(() => unlocked.abort());
  return { unlocked: true };
}
