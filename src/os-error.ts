import { constants } from 'node:os';
import { OsError } from './errors.js';

/** What each OS refusal means for the user, and what to raise or fix. */
const ADVICE: Readonly<Record<string, string>> = {
  EMFILE: 'this process is out of file descriptors (EMFILE); raise its limit (ulimit -n, or LimitNOFILE= in a systemd unit)',
  ENFILE: 'the system is out of file descriptors (ENFILE); raise fs.file-max (sysctl) or close files elsewhere',
  ENOBUFS: 'the kernel is out of socket buffers (ENOBUFS); free memory or raise net.core limits',
  ENOMEM: 'the kernel is out of memory (ENOMEM)',
  EACCES: 'permission denied (EACCES); /proc may be mounted with hidepid=, or a security module denies it',
  EPERM: 'operation not permitted (EPERM); a security module or seccomp filter denies it',
};

/** Codes that mean "the system would not let us look", as opposed to an answer about the lock. */
const REFUSALS = new Set(Object.keys(ADVICE));

/** Whether an OS error code means the system refused us (out of descriptors, memory, or permission). @internal */
export function isOsRefusal(code: string | undefined): boolean {
  return code !== undefined && REFUSALS.has(code);
}

/**
 * An OsError for `doing` (e.g. `Cannot tell who holds lock "x"`) failing with `error`. The message is one
 * line that names what ran out and what to raise; the OS message, which may quote a NUL-padded address, is
 * left to `cause`.
 * @internal
 */
export function osError(doing: string, error: unknown): OsError {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? 'EIO';
  const advice = ADVICE[code] ?? `the system call failed (${code})`;
  return new OsError(code, `${doing}: ${advice}`, { cause: error });
}

/** The OS code (`EMFILE`) of a numeric errno, as read through koffi. @internal */
export function errnoCode(errno: number): string {
  for (const [code, value] of Object.entries(constants.errno)) if (value === errno) return code;
  return `errno ${errno}`;
}
