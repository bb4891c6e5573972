/** Names of the CLI's own exit statuses. @internal */
export type ExitName =
  | 'ok'
  | 'free'
  | 'usage'
  | 'tooLarge'
  | 'unavailable'
  | 'internal'
  | 'conflict'
  | 'remote'
  | 'os'
  | 'squatted'
  | 'lost'
  | 'timeout'
  | 'cannotExecute'
  | 'notFound';

/**
 * Every exit status the `onlyone` command can end with, besides the command's own.
 * Values follow sysexits(3) where one fits, and the shell's 126/127 for commands that cannot run.
 * @internal
 */
export const ExitCode: Readonly<Record<ExitName, number>> = Object.freeze({
  /** Success, or for `run`: the command's own exit status. */
  ok: 0,
  /** `status`: the lock is free (with `--slots`: a slot is free). `send`: nobody holds the lock. */
  free: 1,
  /** EX_USAGE: bad command line, bad option value, invalid lock name, unknown backend. */
  usage: 64,
  /** EX_DATAERR: `send`/`--forward`: the message, or the holder's reply, is over the size cap. */
  tooLarge: 65,
  /** EX_UNAVAILABLE: the backend or platform cannot be used (unsupported runtime, unreachable server). */
  unavailable: 69,
  /** EX_OSERR: the system refused what onlyone needed to answer (out of descriptors, /proc unreadable); the message says what to raise. The lock's state is unknown. */
  os: 71,
  /** EX_SOFTWARE: an internal error in onlyone itself. */
  internal: 70,
  /** EX_TEMPFAIL: the lock is held by someone else (or a wait timed out). Changed with `-E`. */
  conflict: 75,
  /** EX_PROTOCOL: `send`/`--forward`: the holder answered with an error (handler_error, handler_timeout, forbidden, no_handler, busy...) or broke the protocol. */
  remote: 76,
  /** EX_NOPERM: in user scope, the lock is held by another user's process (squatting). */
  squatted: 77,
  /** The lock was lost while the command ran (for example a database connection dropped); the command was stopped. */
  lost: 79,
  /** `send`/`--forward`: no reply within `--timeout` (as timeout(1)). */
  timeout: 124,
  /** The command was found but could not be executed. */
  cannotExecute: 126,
  /** The command was not found. */
  notFound: 127,
});

/** How a command of the CLI ended: an exit status, or a signal to re-raise on ourselves. @internal */
export type Outcome = { readonly code: number } | { readonly signal: NodeJS.Signals };
