import { constants } from 'node:os';

/** Set by the launcher at the top of dist/cli/main.js (scripts/cli-launcher.mjs), before node started. */
const FDS_VARIABLE = 'ONLYONE_CALLER_FDS';
const SIGIGN_VARIABLE = 'ONLYONE_CALLER_SIGIGN';
/** Signals a shell's `trap` can name by number (the realtime ones are left as node leaves them). */
const HIGHEST_TRAPPABLE = 31;

/**
 * What `onlyone` was started with, which node itself no longer shows: node marks descriptors 0-16 close-on-exec and
 * resets every ignored signal to its default action at start-up. The launcher reads both from /proc before node
 * starts. Undefined fields: started without the launcher (`node dist/cli/main.js`, an unbundled build).
 * @internal
 */
export interface Caller {
  /** The caller's descriptors above 2, each still open here at the same number. */
  readonly fds: readonly number[] | undefined;
  /** Signals the caller ignored (nohup: SIGHUP; a non-interactive shell's background job: SIGINT, SIGQUIT). */
  readonly ignored: readonly NodeJS.Signals[];
}

let taken: Caller | undefined;

/** Reads the launcher's variables once, and removes them so that no command inherits a stale copy. @internal */
export function caller(): Caller {
  if (taken !== undefined) return taken;
  const fds = process.env[FDS_VARIABLE];
  const mask = process.env[SIGIGN_VARIABLE];
  delete process.env[FDS_VARIABLE];
  delete process.env[SIGIGN_VARIABLE];
  taken = {
    fds: fds === undefined ? undefined : fds.split(',').filter((fd) => /^\d+$/u.test(fd)).map(Number).filter((fd) => fd > 2),
    ignored: mask === undefined || !/^[0-9a-f]{1,16}$/iu.test(mask) ? [] : ignoredSignals(BigInt(`0x${mask}`)),
  };
  return taken;
}

function ignoredSignals(mask: bigint): NodeJS.Signals[] {
  const names: NodeJS.Signals[] = [];
  for (const [name, number] of Object.entries(constants.signals)) {
    if (number <= HIGHEST_TRAPPABLE && (mask & (1n << BigInt(number - 1))) !== 0n && !names.some((known) => constants.signals[known] === number)) names.push(name as NodeJS.Signals);
  }
  return names;
}
