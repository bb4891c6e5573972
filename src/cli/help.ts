import type { CommandName } from './args.js';

const LOCK_OPTIONS = `Lock options (every command):
  --scope user|system   user (default): one lock per user; system: one for every user
  --prefix PREFIX       address prefix (default onlyone/v1/; Snap needs snap.<instance>.)
  --backend NAME|URL    backend, or a URL such as postgres://host/db (default abstract)
  --dir DIR             lock directory, for backends that use one
  --expect-user USER    the lock must be held by USER (name or uid): another holder is a squatter (exit 77)
  -h, --help            this help`;

const EXIT_CODES = `Exit status:
  0    success; for run, the command's own status (or its signal, re-raised)
  1    status: the lock is free
  64   usage error: unknown option, missing argument, bad value, invalid name, unknown backend
  69   the backend or platform is unavailable (not Linux, Node < 20.8, server unreachable)
  70   internal error in onlyone
  75   the lock is held (or --wait/--timeout ran out); run: change it with -E
  77   the lock is held by another user's process in user scope (squatting)
  79   the lock was lost while the command ran; the command was stopped
  126  the command could not be executed
  127  the command was not found`;

const TEXT: Record<CommandName | 'main', string> = {
  main: `Usage: onlyone COMMAND [options]

Run a program at most once, per user or system-wide.

Commands:
  run [options] NAME -- COMMAND [ARG...]   run COMMAND unless NAME is held
  status NAME [--json]                     who holds NAME (exit 0 held, 1 free)
  list [--json]                            every lock held in the scope, with its holder
  wait NAME [--timeout SECONDS]            wait until NAME is free; acquires nothing
  help [COMMAND]                           help on a command

  -V, --version   print the version
  -h, --help      this help

${EXIT_CODES}
`,
  run: `Usage: onlyone run [options] NAME -- COMMAND [ARG...]

Runs COMMAND while holding NAME. If NAME is held, says who holds it and exits 75 at once.
COMMAND inherits the lock as fd 3 (ONLYONE_FD=3), so the lock lasts as long as COMMAND even if
onlyone itself is killed. Signals INT, TERM, HUP, QUIT, USR1 and USR2 are forwarded to COMMAND.
COMMAND gets ONLYONE_NAME and ONLYONE_SCOPE (and ONLYONE_FENCE on backends with fencing tokens).

Options:
  -w, --wait [SECONDS]          wait for the lock, forever or up to SECONDS (a timeout is a conflict)
  --timeout SECONDS             same as --wait SECONDS
  -E, --conflict-exit-code N    exit status when the lock is held (default 75)
  -q, --quiet                   say nothing when the lock is held (cron: -q -E 0)
  --no-inherit                  do not pass the lock to COMMAND: it is freed when onlyone exits
  --grace SECONDS               if the lock is lost: SIGTERM, then SIGKILL after SECONDS (default 10)

${LOCK_OPTIONS}

${EXIT_CODES}
`,
  status: `Usage: onlyone status NAME [--json]

Prints who holds NAME: pid, user, command line, how long. Exit 0 when held, 1 when free.

Options:
  --json   one JSON object: name, scope, held, backend, pid, uid, user, hostname, argv, cwd,
           acquiredAt (ISO 8601), heldForMs, verified, unverifiedReason, fence (null when unknown)

${LOCK_OPTIONS}
`,
  list: `Usage: onlyone list [--json]

Lists every lock held in the scope (your user's by default), with its holder.

Options:
  --json   a JSON array of the objects 'status --json' prints

${LOCK_OPTIONS}
`,
  wait: `Usage: onlyone wait NAME [--timeout SECONDS]

Waits until NAME is free, without polling, then exits 0. It takes the lock for an instant and
releases it at once. Exits 75 if SECONDS pass first.

Options:
  --timeout SECONDS   give up after SECONDS
  -q, --quiet         say nothing on timeout

${LOCK_OPTIONS}
`,
};

/** The help text of a command, or of the program. @internal */
export function helpText(topic: CommandName | undefined): string {
  return TEXT[topic ?? 'main'];
}

/** The first lines of a help text (the usage line), for usage errors. @internal */
export function usageLine(topic: CommandName | undefined): string {
  return TEXT[topic ?? 'main'].split('\n', 1)[0] ?? '';
}
