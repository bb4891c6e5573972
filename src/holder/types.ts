/** What is known about the process holding a lock. */
export interface Holder {
  /** Lock name, without prefix or scope. */
  readonly name: string;
  /** `user` or `system`. */
  readonly scope: string;
  /** Slot index when the lock was taken with `slots`; otherwise undefined. */
  readonly slot?: number;
  /** The holder's process id. */
  readonly pid: number;
  /** The holder's user id. */
  readonly uid: number;
  /** The holder's user name, when it could be resolved. */
  readonly user?: string;
  /** The holder's hostname. */
  readonly hostname: string;
  /** The holder's command line, exactly as it was given. */
  readonly argv: readonly string[];
  /** The holder's working directory. */
  readonly cwd: string;
  /** When the lock was taken, in milliseconds since the epoch. */
  readonly acquiredAt: number;
  /** How long the lock has been held, in milliseconds, when this was read. */
  readonly heldForMs: number;
  /** Process start time in clock ticks since boot (from /proc/PID/stat), for pid-reuse checks. */
  readonly startTime?: number;
  /** The holder's command line as the kernel shows it (/proc/PID/cmdline), when readable. `argv` is what the hello said. */
  readonly cmdline?: readonly string[];
  /** Every process found holding the lock's socket, when they had to be looked up (the lock fd was handed to children). */
  readonly holderPids?: readonly number[];
  /** Protocol version the holder speaks; 0 when it did not identify itself (no hello). */
  readonly protocol: number;
  /**
   * When the holder did not identify itself (`protocol` 0): what is known instead, e.g. that its backlog is
   * full, that it sent no hello (a program that binds without speaking the protocol; pid from the kernel), or
   * that it is a command that inherited the lock from a process that has exited.
   */
  readonly silentReason?: string;
  /**
   * True only when the kernel confirmed pid and uid (SO_PEERCRED/SO_PEERPIDFD, or /proc/PID/fd holding the
   * lock's socket); false when they are the holder's own claim.
   */
  readonly verified: boolean;
  /** Why the identity could not be verified, when `verified` is false. */
  readonly unverifiedReason?: string;
  /**
   * Set by `status`, `statusSlots` and `list` where a uid is required (`expectedUid`, or our own uid in user
   * scope): true when the kernel shows another uid holding the lock. `status` then throws LockSquattedError.
   */
  readonly squatted?: boolean;
  /** Backend that holds it. */
  readonly backend: string;
  /** Fencing token, on backends that have one. */
  readonly fence?: string;
}
