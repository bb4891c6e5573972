import { loadLibc } from '../identity/peercred.js';

/** Signals whose default action dumps core (signal(7), "Core"). */
const DUMPS_CORE: ReadonlySet<string> = new Set(['SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGXCPU', 'SIGXFSZ', 'SIGSYS']);
/** prctl(2)'s syscall number, per architecture. */
const SYS_PRCTL: Readonly<Record<string, number>> = { x64: 157, arm64: 167 };
const PR_SET_DUMPABLE = 4;

/**
 * Whether `run` may end by re-raising `signal`, the command's cause of death, on itself. For a signal that dumps
 * core, only once this process is no longer dumpable (prctl PR_SET_DUMPABLE 0): the user wants the command's core,
 * not a 50 MB core of node. When that cannot be done (no koffi, an unknown architecture), false: exit 128+N
 * instead, which a shell reports the same way ($? is 128+N either way) but a parent reading the wait status sees as
 * an exit, not a signal. Every other signal may be re-raised as it is.
 * @internal
 */
export async function readyToReraise(signal: NodeJS.Signals): Promise<boolean> {
  if (!DUMPS_CORE.has(signal)) return true;
  const number = SYS_PRCTL[process.arch];
  const libc = number === undefined ? undefined : await loadLibc();
  if (libc === undefined || number === undefined) return false;
  try {
    return Number(libc.syscall(number, 'int', PR_SET_DUMPABLE, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0)) === 0;
  } catch {
    return false;
  }
}
