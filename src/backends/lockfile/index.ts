import { fsp } from '../../proc/lazy-fs.js';
import { LockBusyError, OnlyoneError } from '../../errors.js';
import type { Holder } from '../../holder/types.js';
import { identityCache } from '../../identity/holder-identity.js';
import { requiredUid, squattedError, squatterUid } from '../../identity/squatting.js';
import type { NormalizedOptions } from '../../options.js';
import { KIND, lockfileHolder } from './holder.js';
import { hold } from './lock.js';
import { takeFlock } from './open.js';
import { acquireReplacing } from './replace.js';
import { lockfileLedger, readLastRun } from './runs.js';
import { LOCK_SUFFIX, defaultDir, lockfilePaths, prepareDir, unescapeName } from './paths.js';
import { byLock, slotName } from '../socket/slots.js';
import { waitForAnyRelease, waitForRelease, type WaitState } from '../socket/wait.js';
import type { RunRecord } from '../../once-per/record.js';
import type { AcquireRequest, Backend, BackendLock, RunLedger, StopStage } from '../types.js';

/** Locks read at once by `list`; each costs a connection and a hello. */
const LIST_CONCURRENCY = 64;

/** The lockfile directory the options name, or the scope's default. */
function dirOf(options: NormalizedOptions): string {
  return options.dir ?? defaultDir(options.scope);
}

/**
 * The portable backend (seed 002): `flock()` on `NAME.lock`, which is never unlinked, guards `NAME.sock`,
 * which the holder unlinks and re-binds only while it holds the flock. Works wherever flock(2) does, across
 * network namespaces that share the directory, and interoperates with `flock(1)` on the same lock file.
 */
export const lockfileBackend: Backend = {
  kind: KIND,
  capabilities: { verifiedIdentity: true, messaging: true, slots: true, fencing: false, replace: true },

  async acquire(request: AcquireRequest): Promise<BackendLock> {
    const { name, options, signal } = request;
    const dir = dirOf(options);
    if (options.replace !== undefined) {
      const paths = lockfilePaths(name, dir);
      prepareDir(dir, options.scope);
      return acquireReplacing(request, paths, options);
    }
    // One lock, or slots NAME#0 ... NAME#<slots-1>; every path is checked before anything is locked.
    const slots = options.slots === undefined ? [undefined] : Array.from({ length: options.slots }, (_, index) => index);
    const all = slots.map((slot) => ({ slot, paths: lockfilePaths(slot === undefined ? name : slotName(name, slot), dir) }));
    prepareDir(dir, options.scope);
    const state: WaitState = { refusals: 0 };
    // A shared --dir can hold another uid's lock: with a uid required, check the holder once before waiting on it.
    let squatChecked = requiredUid(options) === undefined;
    for (;;) {
      for (const { slot, paths } of all) {
        const fd = await takeFlock(paths, options.scope);
        const lock = fd === undefined ? undefined : await hold(fd, paths, name, options, slot);
        if (lock !== undefined) return lock;
      }
      const first = all[0];
      if (!options.wait || first === undefined) {
        const holder = (request.describeHolder || !squatChecked) && first !== undefined ? await lockfileHolder(first.slot === undefined ? name : slotName(name, 0), first.paths, options, true) : undefined;
        const foreign = squatterUid(holder, options);
        if (foreign !== undefined) throw squattedError(name, foreign, holder, options);
        throw new LockBusyError(name, holder, options.slots === undefined ? undefined : { cause: new Error(`all ${options.slots} slots are held`) });
      }
      if (!squatChecked) {
        const holder = await lockfileHolder(first.slot === undefined ? name : slotName(name, 0), first.paths, options, true);
        const foreign = squatterUid(holder, options);
        if (foreign !== undefined) throw squattedError(name, foreign, holder, options);
        squatChecked = true;
      }
      // Connects to the holders and wakes when one closes; with no socket to connect to (a flock(1) holder,
      // or a holder between flock and bind) it backs off up to pollIntervalMs instead of spinning.
      if (all.length === 1) await waitForRelease(first.paths.sock, options.pollIntervalMs, signal, state);
      else await waitForAnyRelease(all.map(({ paths }) => paths.sock), options.pollIntervalMs, signal, state);
    }
  },

  status(name: string, options: NormalizedOptions): Promise<Holder | undefined> {
    return lockfileHolder(name, lockfilePaths(name, dirOf(options)), options, false);
  },

  async list(options: NormalizedOptions): Promise<Holder[]> {
    const dir = dirOf(options);
    const entries = await fsp().readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw new OnlyoneError('ERR_BACKEND', `Cannot list the lock directory ${dir}: ${error.message}`, { cause: error });
    });
    const names = entries.flatMap((entry) => (entry.endsWith(LOCK_SUFFIX) ? [unescapeName(entry.slice(0, -LOCK_SUFFIX.length))] : [])).filter((n): n is string => n !== undefined);
    const holders: Holder[] = [];
    const cache = identityCache();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let name = names[next++]; name !== undefined; name = names[next++]) {
        const holder = await lockfileHolder(name, lockfilePaths(name, dir), options, false, cache).catch(() => undefined);
        if (holder !== undefined) holders.push(holder);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, names.length) }, worker));
    return holders.sort(byLock);
  },

  messageAddress(name: string, options: NormalizedOptions): string {
    return lockfilePaths(name, dirOf(options)).sock;
  },

  async stop(request: AcquireRequest): Promise<StopStage> {
    // A lock that is more than a socket (a flock too) is taken and released like any other.
    const lock = await lockfileBackend.acquire(request);
    await lock.release();
    return lock.replaced ?? 'not-held';
  },

  // `oncePer`: the record lives in NAME.runs next to the lock file, timed by the file system's clock.
  async ledger(name: string, options: NormalizedOptions): Promise<RunLedger> {
    return lockfileLedger(lockfilePaths(name, dirOf(options)));
  },

  async lastRun(name: string, options: NormalizedOptions): Promise<RunRecord | undefined> {
    return readLastRun(lockfilePaths(name, dirOf(options)));
  },
};
