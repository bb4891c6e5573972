// The first two lines of dist/cli/main.js: a shell launcher that is also valid JavaScript.
//
// Why: node, at start-up, marks descriptors 0-16 close-on-exec and resets every ignored signal to its default action
// (measured: `exec 4>f` shows 02100001 in node's /proc/self/fdinfo/4; `nohup node` shows SigIgn without SIGHUP). So
// `onlyone run` could not tell the caller's descriptors from its own, nor know that the caller ignored SIGHUP, and
// flock(1)'s behaviour (both reach the command) was lost. /bin/sh reads both from /proc before node starts:
//   ONLYONE_CALLER_FDS     the caller's descriptors above 2 that are not close-on-exec (the script's own excluded)
//   ONLYONE_CALLER_SIGIGN  SigIgn of /proc/self/status, in hex
// then execs node on this same file, which reads line 2 as the string ':' followed by a comment. Cost: one dash
// start-up, about 1 ms. Run as `node dist/cli/main.js`, the launcher is skipped and onlyone passes only 0-2 and
// does not know what was ignored (see src/cli/caller.ts).
export const LAUNCHER = [
  '#!/bin/sh',
  "':' //; f=; for p in /proc/$$/fd/*; do n=${p##*/}; case $n in 0|1|2|*[!0-9]*) continue;; esac; c=; " +
    'while read -r k v; do [ "$k" = flags: ] && c=$v; done 2>/dev/null </proc/$$/fdinfo/$n; ' +
    '[ -n "$c" ] && ! [ "$p" -ef "$0" ] || continue; case ${c%??????} in *[2367]) continue;; esac; f=$f${f:+,}$n; done; ' +
    's=; while read -r k v; do [ "$k" = SigIgn: ] && s=$v; done </proc/$$/status; ' +
    'export ONLYONE_CALLER_FDS="$f" ONLYONE_CALLER_SIGIGN="$s"; exec node "$0" "$@"',
].join('\n');
