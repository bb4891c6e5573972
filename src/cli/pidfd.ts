// pidfds through koffi, for `onlyone lock`: a handle on the calling process that cannot be fooled by pid
// reuse, that can be waited on without polling, and that signals exactly that process.
// Loaded only by `onlyone lock`'s holder process: no other command pays for koffi.
import { constants } from 'node:os';

/** Linux syscall numbers: pidfd_open and pidfd_send_signal have one number on every architecture (5.1/5.3+). */
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;
const POLLIN = 1;

interface Poll {
  (fds: Buffer, count: number, timeoutMs: number): number;
  async(fds: Buffer, count: number, timeoutMs: number, done: (error: unknown, result: number) => void): void;
}

interface Native {
  readonly syscall: (...args: unknown[]) => number | bigint;
  readonly poll: Poll;
  readonly errno: () => number;
}

/** Why pidfds are unavailable (no koffi, no kernel support): `onlyone lock` cannot keep its promise without them. @internal */
export class PidfdUnavailableError extends Error {
  readonly code = 'ERR_UNSUPPORTED_PLATFORM';
}

let native: Promise<Native> | undefined;

function load(): Promise<Native> {
  native ??= (async () => {
    if (process.platform !== 'linux') throw new PidfdUnavailableError('onlyone lock needs Linux pidfds (pidfd_open) to follow the calling process');
    if (process.env['ONLYONE_NO_KOFFI'] === '1') throw new PidfdUnavailableError('onlyone lock needs koffi to open a pidfd on the calling process, and koffi is disabled (ONLYONE_NO_KOFFI=1)');
    let koffi: (typeof import('koffi'))['default'];
    try {
      koffi = (await import('koffi')).default;
    } catch (error) {
      throw new PidfdUnavailableError(`onlyone lock needs koffi to open a pidfd on the calling process, and koffi could not be loaded (${(error as Error).message}); reinstall with optional dependencies`, { cause: error });
    }
    const libc = openLibc(koffi);
    return {
      syscall: libc.func('long syscall(long, ...)') as Native['syscall'],
      poll: libc.func('int poll(void *, unsigned long, int)') as unknown as Poll,
      errno: () => koffi.errno(),
    };
  })();
  return native;
}

function openLibc(koffi: (typeof import('koffi'))['default']): ReturnType<(typeof import('koffi'))['default']['load']> {
  let last: unknown;
  // glibc, then musl's names.
  for (const path of ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1']) {
    try {
      return koffi.load(path);
    } catch (error) {
      last = error;
    }
  }
  throw new PidfdUnavailableError(`onlyone lock could not load the C library through koffi (${(last as Error).message})`, { cause: last });
}

/**
 * Opens a pidfd on `pid` (close-on-exec, as pidfd_open always makes it).
 * @throws PidfdUnavailableError without koffi or on kernels before 5.3; Error (ESRCH) when `pid` is gone.
 * @internal
 */
export async function openPidfd(pid: number): Promise<number> {
  const libc = await load();
  const fd = Number(libc.syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0));
  if (fd >= 0) return fd;
  const errno = libc.errno();
  if (errno === constants.errno.ENOSYS) throw new PidfdUnavailableError('onlyone lock needs pidfd_open (Linux 5.3 or later)');
  throw Object.assign(new Error(`pidfd_open(${pid}) failed: errno ${errno}`), { errno });
}

/**
 * Resolves when the process behind `pidfd` has ended (the pidfd becomes readable), however it ended.
 * The wait blocks one thread of the libuv pool in poll(2): no timer, no polling.
 * @internal
 */
export async function processEnded(pidfd: number): Promise<void> {
  const libc = await load();
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(pidfd, 0);
  fds.writeInt16LE(POLLIN, 4);
  for (;;) {
    const ready = await new Promise<number>((resolve) => libc.poll.async(fds, 1, -1, (error, result) => resolve(error === null || error === undefined ? result : -1)));
    // EINTR (or a koffi failure): wait again; anything readable or in error means the process is gone.
    if (ready > 0) return;
  }
}

/** True when the process behind `pidfd` has already ended. @internal */
export async function hasEnded(pidfd: number): Promise<boolean> {
  const libc = await load();
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(pidfd, 0);
  fds.writeInt16LE(POLLIN, 4);
  return libc.poll(fds, 1, 0) > 0;
}

/** Sends `signal` to exactly the process behind `pidfd` (never to a process that reused its pid). @internal */
export async function signalPidfd(pidfd: number, signal: NodeJS.Signals): Promise<boolean> {
  const libc = await load();
  const number = constants.signals[signal];
  return Number(libc.syscall(SYS_PIDFD_SEND_SIGNAL, 'int', pidfd, 'int', number, 'void *', null, 'unsigned int', 0)) === 0;
}
