import type { Holder } from '../holder/types.js';
import type { NormalizedOptions } from '../options.js';
import type { RunExit, RunRecord } from '../once-per/record.js';
import type { RerunReply, RerunRequest, Reruns } from '../holder/reruns.js';

/** What a backend can do beyond plain mutual exclusion. */
export interface BackendCapabilities {
  /** The kernel or server confirms who holds a lock. */
  readonly verifiedIdentity: boolean;
  /** Contenders can send messages to the holder and get replies. */
  readonly messaging: boolean;
  /** At most N holders at once. */
  readonly slots: boolean;
  /** Each acquisition gets a strictly increasing fencing token. */
  readonly fencing: boolean;
  /** `replace` and `stop()` work: the holder can be asked to release, then signalled through /proc. */
  readonly replace: boolean;
}

/** How `stop()` ended: nobody held the lock, or its holder released on request, or was SIGTERMed, or SIGKILLed. */
export type StopStage = 'not-held' | 'released' | 'terminated' | 'killed';

/** A lock a backend holds. @internal */
export interface BackendLock {
  /** Where the lock lives, in the backend's own terms (abstract address, file path, key). */
  readonly address: string;
  readonly fence: string | undefined;
  /** Slot index when the lock is one of `slots`. */
  readonly slot?: number | undefined;
  /** With `replace`: how the previous holder went (undefined when the lock was free). */
  readonly replaced?: 'released' | 'terminated' | 'killed' | undefined;
  /** The descriptor that holds the lock, when it can be passed to a child process. */
  readonly fd: number | undefined;
  /** Aborts, with LockLostError as reason, when the backend loses the lock. */
  readonly lost: AbortSignal;
  /** Releases the lock and wakes waiters. Safe to call more than once. */
  release(): Promise<void>;
  /** Whether holding the lock keeps the event loop alive. */
  setRef(keepAlive: boolean): void;
  /**
   * Re-checks at once whether the lock can still be held, aborting `lost` if not (e.g. a lease that ran out while
   * the process was stopped). Called before `Lock.signal` and `Lock.held` answer, so no timer has to run first.
   */
  verify?(): void;
  /** The lease, on backends whose lock lasts only while it is renewed; undefined once released or lost. */
  lease?(): Lease | undefined;
}

/**
 * A leased lock's renewal state (the `postgres` backend): the server frees the lock by itself once the lease runs
 * out, even while this process still thinks it holds it, so a process that must act before that needs the times.
 */
export interface Lease {
  /** Milliseconds until this process declares the lock lost unless a heartbeat renews the lease (`signal` aborts then). */
  readonly lostInMs: number;
  /** Milliseconds until the server may end the session and hand the lock to another process: a margin after `lostInMs`. */
  readonly expiresInMs: number;
  /**
   * The lock's connection, for a guard process. While any copy of it is open, the server sees the session as alive
   * (until the lease runs out), so a guard that inherits it can stop dependent processes before the lock is freed.
   */
  readonly fd: number | undefined;
}

/** One acquisition attempt, as the generic layer hands it to a backend. @internal */
export interface AcquireRequest {
  readonly name: string;
  readonly options: NormalizedOptions;
  /** Aborts the wait. Backends try at least once before looking at it. */
  readonly signal: AbortSignal | undefined;
  /** When the lock is busy and `wait` is off: read the holder for LockBusyError (false for tryAcquire). */
  readonly describeHolder: boolean;
}

/**
 * The surface every backend implements. Contention is always LockBusyError, whatever the engine.
 * @internal
 */
export interface Backend {
  readonly kind: string;
  readonly capabilities: BackendCapabilities;
  /**
   * Takes the lock. Without `options.wait`, throws LockBusyError at once when it is held.
   * With it, waits without polling until it is free or `signal` aborts (rejecting with `signal.reason`).
   */
  acquire(request: AcquireRequest): Promise<BackendLock>;
  /** Who holds `name`, or undefined when it is free. */
  status(name: string, options: NormalizedOptions): Promise<Holder | undefined>;
  /** Every lock held under the options' prefix that this backend can see. */
  list(options: NormalizedOptions): Promise<Holder[]>;
  /**
   * Where a contender reaches the holder of `name` to send it a message (its socket's address or path).
   * Present exactly when `capabilities.messaging` is. Checks the platform as `acquire` would.
   */
  messageAddress?(name: string, options: NormalizedOptions): string;
  /**
   * Why nobody answers at `address` although the name is taken (a socket bound that never listens), or
   * undefined when nothing holds it: tells "not held" from "held, but nobody to talk to".
   */
  silentBinding?(address: string): Promise<string | undefined>;
  /**
   * Stops the holder as `acquire` with `replace` would (release request, grace, SIGTERM, SIGKILL, each aimed only
   * at processes verified to hold the lock), takes the lock for an instant to be sure it is free, and releases it.
   * Present exactly when `capabilities.replace` is.
   */
  stop?(request: AcquireRequest): Promise<StopStage>;
  /** `oncePer`: the run records of `lock`, which this process holds. Absent on backends that keep no records. */
  ledger?(name: string, options: NormalizedOptions, lock: BackendLock): Promise<RunLedger>;
  /** The last run recorded for `name` (`oncePer`), or undefined. Present exactly when `ledger` is. */
  lastRun?(name: string, options: NormalizedOptions): Promise<RunRecord | undefined>;
  /** `coalesce` kept in the backend (holders without messaging): `lock`'s pending rerun. Socket backends keep it in the holder process. */
  reruns?(name: string, options: NormalizedOptions, lock: BackendLock): Promise<Reruns>;
  /** `requestRerun()` on a backend that keeps reruns itself. Present exactly when `reruns` is. */
  requestRerun?(name: string, options: NormalizedOptions, request: Omit<RerunRequest, 'from'>): Promise<RerunReply>;
}

/**
 * Where a lock's run records live (`oncePer`), read and written only by the lock's holder. Times come from the
 * backend's clock (the database server, the file system), never from this host's.
 * @internal
 */
export interface RunLedger {
  /** The backend's clock now, in ms since the epoch, and the last run recorded for the lock. */
  read(): Promise<{ now: number; last: RunRecord | undefined }>;
  /** Records the start of a run. */
  start(record: RunRecord): Promise<void>;
  /** Records how the run ended, timed by the backend's clock; resolves with the record as stored. */
  end(record: RunRecord, exit: RunExit): Promise<RunRecord>;
}
