import { acquire, type Holder } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { lockOptions } from './lock-options.js';
import { reportConflict } from './run.js';

/**
 * `onlyone wait NAME [--timeout SECONDS] [--slots N]`: returns once NAME (with `--slots`, one of its slots) is free. It takes the lock and releases it at
 * once, so for that instant a fail-fast `run` of the same name sees it held.
 * Exit 0 once free; 75 when the timeout passes first.
 * @throws the library's errors other than the timeout.
 * @internal
 */
export async function waitFree(args: Extract<Parsed, { command: 'wait' }>): Promise<Outcome> {
  const options = lockOptions(args.lock);
  let progress: { stop(): void } | undefined;
  if (process.stderr.isTTY && !args.quiet) {
    const [{ startProgress }, { status }] = await Promise.all([import('./progress.js'), import('../index.js')]);
    progress = startProgress(args.name, () => status(args.name, options));
  }
  try {
    const lock = await acquire(args.name, {
      ...options,
      wait: true,
      ...(args.timeoutSeconds === undefined ? {} : { timeoutMs: args.timeoutSeconds * 1000 }),
      command: ['onlyone', 'wait', args.name],
      ...(args.slots === undefined ? {} : { slots: args.slots }),
    });
    await lock.release();
    return { code: ExitCode.ok };
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_LOCK_TIMEOUT') throw error;
    progress?.stop();
    if (!args.quiet) await reportConflict(args.name, (error as { holder?: Holder }).holder, args.timeoutSeconds);
    return { code: ExitCode.conflict };
  } finally {
    progress?.stop();
  }
}
