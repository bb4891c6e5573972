import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Lease, Lock } from '../index.js';

/** How often the lease is passed on: a quarter of what is left of it, within these bounds. */
const MIN_FORWARD_MS = 20;
const MAX_FORWARD_MS = 1000;

/**
 * The `run` side of the lease guard (see src/guard/lease-guard.cts). On a leased lock (postgres), a process in its
 * own session is told when the lease runs out and which command runs. It kills that command's tree at the deadline
 * if this process is stopped or hung, or if it dies, so the command never runs after another host could take the
 * lock. If the guard itself ends early, `failed` aborts and the command must be stopped.
 * @internal
 */
export class LeaseGuard {
  readonly #lock: Lock;
  readonly #process: ChildProcess;
  readonly #failed = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #sentDeadline = 0n;
  #done = false;

  /** Starts a guard for `lock`, or returns undefined when the lock needs none (it lasts as long as its descriptor). */
  static start(lock: Lock, marker: string): LeaseGuard | undefined {
    const lease = lock.lease;
    return lease === undefined ? undefined : new LeaseGuard(lock, lease, marker);
  }

  private constructor(lock: Lock, lease: Lease, marker: string) {
    this.#lock = lock;
    const script = join(dirname(realpathSync(process.argv[1] ?? '')), '..', 'guard', 'lease-guard.cjs');
    // Own session: a stop of our process group must not reach it. Without NODE_OPTIONS: no --require'd code in it
    // (the rest of the environment stays, in case node itself needs it). fd 3: a copy of the lock's connection, so
    // our death does not free the lock before the guard acts.
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    this.#process = spawn(process.execPath, [script, String(process.pid), lock.name, marker], {
      detached: true,
      cwd: '/',
      env,
      stdio: ['pipe', 'ignore', 'inherit', ...(lease.fd === undefined ? [] : [lease.fd])],
    });
    this.#process.on('error', (error) => this.#fail(`the lease guard could not start: ${error.message}`));
    this.#process.on('exit', (code, signal) => this.#fail(`the lease guard (pid ${this.#process.pid ?? '?'}) ended (${signal ?? `status ${code}`})`));
    // A write after the guard died fails with EPIPE; its exit is reported above.
    this.#process.stdin?.on('error', () => {});
    this.#process.unref();
    (this.#process.stdin as { unref?: () => void } | null)?.unref?.();
    this.#forward();
    const every = Math.min(MAX_FORWARD_MS, Math.max(MIN_FORWARD_MS, Math.floor(lease.lostInMs / 4)));
    this.#timer = setInterval(() => this.#forward(), every);
    this.#timer.unref();
  }

  /** The guard's pid (never part of the command's tree). */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Aborts, with an Error saying why, if the guard ends or cannot start before `done()`. */
  get failed(): AbortSignal {
    return this.#failed.signal;
  }

  commandStarted(pid: number): void {
    this.#forward();
    this.#write(`child ${pid}`);
  }

  commandExited(pid: number): void {
    this.#write(`exited ${pid}`);
  }

  /** The lock is lost and the command is being stopped politely: the guard kills what is left after `graceMs`. */
  lockLost(graceMs: number): void {
    clearInterval(this.#timer);
    this.#write(`lost ${Math.ceil(graceMs)}`);
  }

  /** Nothing runs any more: the guard exits without killing anything. */
  done(): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#timer);
    this.#write('done');
    this.#process.stdin?.end();
  }

  /**
   * Passes on the lease's deadline when a heartbeat moved it: a quarter of the way from our own give-up to the
   * server's earliest release. We declare the loss first and can stop the command politely; the three quarters left
   * absorb a late wake-up of the guard on a loaded machine.
   */
  #forward(): void {
    const lease = this.#lock.lease;
    if (lease === undefined) return;
    const killInMs = lease.lostInMs + (lease.expiresInMs - lease.lostInMs) / 4;
    const deadline = process.hrtime.bigint() + BigInt(Math.floor(killInMs * 1e6));
    if (deadline < this.#sentDeadline + 1_000_000n) return;
    this.#sentDeadline = deadline;
    this.#write(`lease ${deadline}`);
  }

  #write(line: string): void {
    if (!this.#failed.signal.aborted) this.#process.stdin?.write(`${line}\n`);
  }

  #fail(why: string): void {
    if (this.#done || this.#failed.signal.aborted) return;
    clearInterval(this.#timer);
    this.#failed.abort(new Error(why));
  }
}
