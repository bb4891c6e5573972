/** Names of the CLI's own exit statuses. @internal */
export type ExitName =
  | 'ok'
  | 'free'
  | 'usage'
  | 'tooLarge'
  | 'unavailable'
  | 'internal'
  | 'os'
  | 'conflict'
  | 'remote'
  | 'squatted'
  | 'lost'
  | 'timeout'
  | 'cannotExecute'
  | 'notFound';

/** One exit status: its value and what it means, in the words of `--help` and of the README's table. @internal */
export interface ExitStatus {
  readonly name: ExitName;
  readonly code: number;
  /** Markdown (backticks for commands and options); `--help` prints it without them. */
  readonly meaning: string;
}

/**
 * Every exit status the `onlyone` command can end with, besides the command's own: the one source of truth for
 * the code, `onlyone --help` and the README's table (`npm run docs:exit-codes` rewrites it; a test checks it).
 * Values follow sysexits(3) where one fits, and the shell's 126/127 for commands that cannot run.
 * @internal
 */
export const EXIT_STATUSES: readonly ExitStatus[] = Object.freeze([
  { name: 'ok', code: 0, meaning: "success; for `run`, the command's own status (a command killed by a signal: the same signal is re-raised)" },
  { name: 'free', code: 1, meaning: '`status`: the lock is free (`--slots`: a slot is free); `send`, `unlock`: nobody holds the lock' },
  { name: 'usage', code: 64, meaning: 'usage error: unknown option, missing argument, bad value, invalid lock name, unknown backend, `send --json` not JSON (EX_USAGE)' },
  { name: 'tooLarge', code: 65, meaning: "`send`, `run --forward`: the message, or the holder's reply, is over the size cap (EX_DATAERR)" },
  { name: 'unavailable', code: 69, meaning: 'the backend or platform is unavailable: not Linux, Node < 20.8, server unreachable; `lock` without koffi or pidfds; `unlock` on a backend without a holder socket (EX_UNAVAILABLE)' },
  { name: 'internal', code: 70, meaning: 'internal error in onlyone (EX_SOFTWARE)' },
  {
    name: 'os',
    code: 71,
    meaning: "the system refused what onlyone needed to answer: out of file descriptors (raise `ulimit -n`), /proc unreadable. The lock's state is unknown, never reported as free (EX_OSERR)",
  },
  {
    name: 'conflict',
    code: 75,
    meaning: 'the lock is held, or `--wait`/`--timeout` ran out, or (`--once-per`) a run already started in this window; `run -E N` and `lock -E N` change it (EX_TEMPFAIL). `unlock`: the lock is not this script\'s. `stop`, `run --replace`: the lock could not be freed: no process could be verified as its holder (nothing was signalled), the holder survived SIGKILL, or another process took it',
  },
  {
    name: 'remote',
    code: 76,
    meaning: '`send`, `run --forward`: the holder answered with an error, printed with its code (`handler_error`, `handler_timeout`, `forbidden`, `no_handler`, `busy`), or broke the protocol (EX_PROTOCOL)',
  },
  {
    name: 'squatted',
    code: 77,
    meaning: 'the lock is held by a uid other than `--expect-user`, or, in user scope, by another user\'s process: squatting, not "already running". Nothing is sent to it or signalled (EX_NOPERM)',
  },
  { name: 'lost', code: 79, meaning: 'the lock was lost while the command ran (a backend lost its server); the command was stopped' },
  { name: 'timeout', code: 124, meaning: '`send`, `run --forward`: no reply within `--timeout` (as `timeout(1)`)' },
  { name: 'cannotExecute', code: 126, meaning: 'the command could not be executed' },
  { name: 'notFound', code: 127, meaning: 'the command was not found' },
]);

/** Each exit status by name. @internal */
export const ExitCode: Readonly<Record<ExitName, number>> = Object.freeze(Object.fromEntries(EXIT_STATUSES.map(({ name, code }) => [name, code])) as Record<ExitName, number>);

/** The README's table of exit statuses, in Markdown. @internal */
export function exitStatusTable(): string {
  return ['| code | meaning |', '|---|---|', ...EXIT_STATUSES.map(({ code, meaning }) => `| ${code} | ${meaning} |`)].join('\n');
}

/** How a command of the CLI ended: an exit status, or a signal to re-raise on ourselves. @internal */
export type Outcome = { readonly code: number } | { readonly signal: NodeJS.Signals };
