import type { CommandName } from './args.js';
import { EXIT_STATUSES } from './exit-codes.js';

const LOCK_OPTIONS = `Lock options (every command):
  --scope user|system   user (default): one lock per user; system: one for every user
  --prefix PREFIX       address prefix (default onlyone/v1/; Snap needs snap.<instance>.)
  --backend NAME|URL    backend, or a URL such as postgres://host/db or etcd://host:2379
                        (default abstract)
  --dir DIR             lock directory, for backends that use one
  --expect-user USER    the lock must be held by USER (name or uid): another holder is a squatter (exit 77)
  -h, --help            this help`;

/** From the one table in exit-codes.ts, without Markdown, wrapped under its code. */
const EXIT_CODES = `Exit status:\n${EXIT_STATUSES.map(({ code, meaning }) => wrap(`  ${String(code).padEnd(5)}${meaning.replaceAll('`', '')}`, 100, 7)).join('\n')}`;

const TEXT: Record<CommandName | 'main', string> = {
  send: `Usage: onlyone send NAME [--json DATA] [--timeout DURATION] [-- ARG...]

Sends a message to the process holding NAME (one started with 'onlyone run --on-message' or the
library's onMessage) and prints its reply as one line of JSON. The message carries ARG... as argv
(exactly as given), the current directory as cwd, and DATA (JSON; null by default) as data.

Options:
  --json DATA         the message's data, as JSON; --json - reads it from stdin, --json @FILE from FILE
                      (for data larger than a command line can hold)
  --timeout DURATION  give up waiting for the reply (default 35; the holder's own limit is 30)

${LOCK_OPTIONS}

Exit status: 0 reply printed; 1 nobody holds NAME; 64 usage (bad --json); 65 message or reply too
large; 76 the holder answered with an error (printed: handler_error, handler_timeout, forbidden,
no_handler, busy...); 124 no reply within --timeout.
`,
  stop: `Usage: onlyone stop NAME [--timeout DURATION] [--kill-after DURATION]

Stops the process holding NAME: asks it to release (an 'onlyone run' holder SIGTERMs its command), waits
up to DURATION (default 10s), then SIGTERMs the processes verified to hold the lock (never any other;
with --backend lockfile, those holding NAME.sock or the flock on NAME.lock), waits --kill-after DURATION
(default the same), then SIGKILLs them. Prints what happened on stdout: not-held, released, terminated
or killed.

Options:
  --timeout DURATION     how long the holder has to release on request (default 10)
  --kill-after DURATION  how long it has after SIGTERM before SIGKILL (default --timeout)

${LOCK_OPTIONS}

Exit status: 0 the lock is free now (whatever it took); 75 the lock could not be freed: no process could be
verified as its holder (nothing was signalled), the holder survived SIGKILL, or another process took it;
64 usage; 69 unavailable.
`,
  main: `Usage: onlyone COMMAND [options]

Run a program at most once, per user or system-wide.

Commands:
  run [options] NAME -- COMMAND [ARG...]   run COMMAND unless NAME is held
  status NAME [--json]                     who holds NAME (exit 0 held, 1 free)
  list [--json]                            every lock held in the scope, with its holder
  wait NAME [--timeout DURATION]           wait until NAME is free; acquires nothing
  send NAME [--json DATA] [-- ARG...]      send a message to NAME's holder, print its reply
  stop NAME [--timeout DURATION]           stop NAME's holder: release request, SIGTERM, SIGKILL
  lock [-w [DURATION]] NAME                hold NAME for the rest of the calling script (flock's exec 9>f)
  unlock NAME                              free a NAME this script took with 'onlyone lock'
  help [COMMAND]                           help on a command

  -V, --version   print the version
  -h, --help      this help

${EXIT_CODES}
`,
  run: `Usage: onlyone run [options] NAME -- COMMAND [ARG...]
       onlyone run [options] NAME -c 'SHELL COMMAND'
       onlyone run [options] -- COMMAND [ARG...]      (no NAME: the command line names the lock, as run-one)

Runs COMMAND while holding NAME. If NAME is held, says who holds it and exits 75 at once.
COMMAND inherits the lock on the first fd above 2 the caller did not use (ONLYONE_FD, usually 3),
so the lock lasts as long as COMMAND even if onlyone itself is killed; the caller's own fds and
ignored signals reach COMMAND as under flock. Signals INT, TERM, HUP, QUIT, USR1 and USR2 are
forwarded to COMMAND; INT, TERM and HUP stop its whole process tree (SIGKILL after --grace).
COMMAND gets ONLYONE_NAME and ONLYONE_SCOPE (and ONLYONE_FENCE on backends with fencing tokens,
ONLYONE_WINDOW with --once-per).
Without NAME, the lock is named cmd-BASENAME-HASH, a hash of COMMAND's argv (NUL-separated): the same
command line excludes itself, whatever else runs.

Every DURATION takes 500ms, 5s, 2m, 1h, 1d, 2h30m or plain seconds (1.5), up to 24 days.

Options:
  -w, --wait [DURATION]         wait for the lock, forever or up to DURATION (a timeout is a conflict)
  --timeout DURATION            same as --wait DURATION
  -E, --conflict-exit-code N    exit status when the lock is held (default 75)
  -q, --quiet                   say nothing when the lock is held (cron: -q -E 0)
  --no-inherit                  do not pass the lock to COMMAND: it is freed when onlyone exits
  --grace DURATION              if the lock is lost: SIGTERM, then SIGKILL after DURATION (default 10s);
                                with --replace: the holder's time to release, and then to die of SIGTERM
  --idle-session-timeout DURATION
                                postgres: the server frees the lock of a holder silent this long
                                (default 10s); a guard process kills COMMAND first if onlyone is
                                stopped or dies (see docs/postgres.md)
  --ttl DURATION                etcd: the lease's TTL (default 10): a holder silent this long loses
                                the lock; a guard process kills COMMAND first (see docs/etcd.md)
  --slots N                     take one of N locks NAME#0..NAME#N-1: at most N run at once
                                (the command gets ONLYONE_SLOT)
  --replace                     if NAME is held, stop its holder first (as 'onlyone stop') and take it
  --forward                     if NAME is held, send COMMAND [ARG...] and our cwd to the holder,
                                print its reply as JSON and exit 0 (see 'onlyone send')
  --on-message CMD              for each message, run /bin/sh -c CMD with the message as JSON on stdin
                                ({argv, cwd, data, from}); its stdout is the reply (JSON if it parses,
                                else the text); a non-zero exit is an error reply; CMD is killed when
                                the sender gives up or after 30s
  --on-message-signal SIG       for each message, send SIG to COMMAND and reply {"signalled": SIG}
  --keep-running                run COMMAND again whenever it exits, keeping the lock
  --until-success               run COMMAND again until it exits 0
  --until-failure               run COMMAND again until it fails
  --restart-delay DURATION      loops: the pause before a restart (default 1s; 0 restarts at once, as
                                run-one-constantly); it doubles after each run that failed quickly
  --max-delay DURATION          loops: the longest pause (default 60s); a run that succeeded or lasted
                                this long (and 10s) brings the pause back to --restart-delay
  --once-per DURATION           at most one run started per window of DURATION (90, 30s, 5m, 2h30m,
                                1d), across every host on the backend (lockfile, postgres, etcd);
                                windows are cut on the backend's clock, never this host's. A run already
                                started in this window: exit 75 (-E), 'already ran in this window'
  --offset DURATION             windows start DURATION after midnight (--once-per 1d --offset 2h30m)
  --tz ZONE                     cut windows on ZONE's wall clock (Europe/Paris); UTC by default
  --retry-failed                a run that failed, crashed or lost its lock does not use up its window
  --min-hold DURATION           keep the lock at least DURATION after the start, even if COMMAND ends
                                sooner (not more often than DURATION, without windows)
  --coalesce                    if NAME is held by a --coalesce run, ask it to run COMMAND once more
                                when it ends and exit 0: any number of triggers give one more run,
                                with the latest command line and cwd
  --pass-env                    with --coalesce: the rerun gets this environment
  With --coalesce, -w waits for that rerun and exits with its status (not on postgres).

  -F, --exec, --no-fork         replace onlyone with COMMAND (flock -F): same pid, no wrapper left in
                                memory; COMMAND holds the lock on the fd ONLYONE_FD names and it is freed
                                when COMMAND exits. Nothing forwards signals or answers messages (a holder
                                is then named from /proc, after a 1s hello timeout). Needs koffi. Not with
                                --no-inherit, the loops, --on-message*, or a leased backend (postgres)

flock(1) options, accepted so that a copied line works:
  -n, --nb, --nonblock          fail at once if NAME is held (onlyone's default); also --nonblocking
  -x, -e, --exclusive           an exclusive lock (the only kind onlyone takes)
  -o, --close                   same as --no-inherit
  -c, --command STRING          run STRING with $SHELL -c (/bin/sh without $SHELL), as flock does
  --verbose                     say how long getting the lock took, and what is executed
  -s, --shared                  refused: onlyone has no shared locks; --slots N runs at most N at once
  -u, --unlock                  refused: the lock goes when COMMAND ends; 'onlyone unlock' frees
                                a lock taken with 'onlyone lock'
  --fcntl, --start, --length    refused: onlyone locks names, not fcntl(2) byte ranges
  flock's NAME is a file; onlyone's is a name (with --backend lockfile, a file in --dir).

A release request ('onlyone stop', 'run --replace') sends SIGTERM to COMMAND and ends any loop; the lock
goes when COMMAND ends. SIGINT and SIGTERM to onlyone are forwarded to COMMAND and end any loop. A loop
ends the way its last run did.

${LOCK_OPTIONS}

${EXIT_CODES}
`,
  lock: `Usage: onlyone lock [options] NAME

Holds NAME for the life of the calling process (the shell running your script), as flock's
'exec 9>file; flock -n 9 || exit 1' does, and exits 0 once it is held; if NAME is held, it says who
holds it and exits 75 (or -E N). The rest of the script then runs at most once:

  onlyone lock -q backup || exit 0
  rsync ...                                 # freed when the script ends, however it ends

A holder process (in a session of its own) keeps NAME and watches the caller through a pidfd: the
lock is freed within milliseconds of the caller's end, SIGKILL included, without polling. It needs
Linux 5.3+ and koffi (an install without optional dependencies exits 69). 'onlyone unlock NAME'
from the same script frees it earlier (abstract and lockfile backends), and a second 'onlyone lock
NAME' from the same script succeeds, as flock on the same descriptor does. 'onlyone stop NAME' and 'run --replace' send the script
SIGTERM; NAME goes when the script has ended.

The lock belongs to the process that runs 'onlyone lock', not to the script around it: in a
subshell, '( onlyone lock NAME; ... )' or '$(onlyone lock NAME; ...)', it is freed when the subshell
ends. Run it as a plain command of the script.

Options:
  -w, --wait [DURATION]         wait for the lock, forever or up to DURATION (500ms, 5s, 2m, 1h, 1.5)
  --timeout DURATION            same as --wait DURATION
  -n, --nb, --nonblock          fail at once if NAME is held (the default)
  -x, -e, --exclusive           accepted, as by flock: every onlyone lock is exclusive
  -E, --conflict-exit-code N    exit status when NAME is held (default 75)
  -q, --quiet                   say nothing when NAME is held

${LOCK_OPTIONS}

Exit status: 0 held; 75 (-E) held by someone else or --wait ran out; 77 squatted; 64 usage;
69 unavailable (no koffi, no pidfd, backend unreachable).
`,
  unlock: `Usage: onlyone unlock [options] NAME

Frees NAME, taken by this script with 'onlyone lock NAME', before the script ends. Only the
process that locked NAME can unlock it: run it from the same script, not from a subshell.

Options:
  -q, --quiet   say nothing when NAME cannot be unlocked

${LOCK_OPTIONS}

Exit status: 0 freed; 1 nobody holds NAME; 75 NAME is held by another process or script, or was
not taken with 'onlyone lock'; 64 usage; 69 unavailable.
`,
  status: `Usage: onlyone status NAME [--json] [--slots N]

Prints who holds NAME: pid, user, command line, how long. Exit 0 when held, 1 when free.
On backends that keep run records (lockfile, postgres, etcd), also the last --once-per run: its window,
host, pid, start, end and exit (--json: lastRun, null when there is none).

Options:
  --slots N   show each of the N slots NAME#0..NAME#N-1 (--json: an array); exit 0 when every slot
              is held (a run would conflict), 1 when at least one is free
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
  wait: `Usage: onlyone wait NAME [--timeout DURATION]

Waits until NAME is free, without polling, then exits 0. It takes the lock for an instant and
releases it at once. Exits 75 if DURATION passes first.

Options:
  --timeout DURATION  give up after DURATION
  -q, --quiet         say nothing on timeout
  --slots N           wait until one of the N slots NAME#0..NAME#N-1 is free

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

/** Wraps `text` at `width` columns, continuation lines indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/(?<=\S) (?=\S)/u)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join('\n');
}
