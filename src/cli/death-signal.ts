import { accessSync, constants } from 'node:fs';
import { commandCandidates } from './command-path.js';
import { join } from 'node:path';

/** util-linux's setpriv: sets PR_SET_PDEATHSIG, then execs the command (same pid). */
const SETPRIV_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

let setpriv: string | null | undefined;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where setpriv is, or undefined (busybox systems, macOS). Looked up once. */
function findSetpriv(): string | undefined {
  setpriv ??= SETPRIV_DIRS.map((dir) => join(dir, 'setpriv')).find(executable) ?? null;
  return setpriv ?? undefined;
}

/** Whether `file` would be found and run by execvp (so that "command not found" stays onlyone's own message). @internal */
export function runnable(file: string): boolean {
  return commandCandidates(file).some(executable);
}

/**
 * The command line that runs `argv` with SIGKILL as its parent-death signal: if onlyone dies (even by SIGKILL), the
 * kernel kills the command at once. On a leased lock that is what stops it when onlyone and its lease guard are
 * killed together. Undefined when setpriv is missing or the command cannot be run (spawn then reports that itself).
 * The shim execs the command, so its pid, argv[0], descriptors and environment are the command's own.
 * @internal
 */
export function withDeathSignal(argv: readonly string[]): readonly string[] | undefined {
  const [file] = argv;
  const shim = findSetpriv();
  if (shim === undefined || file === undefined || !runnable(file)) return undefined;
  return [shim, '--pdeathsig', 'KILL', '--', ...argv];
}

/** Whether the death signal can be set here (for the one-time notice). @internal */
export function deathSignalAvailable(): boolean {
  return findSetpriv() !== undefined;
}
