import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { loadLibc, type Libc } from '../../identity/peercred.js';
import { pidHoldsInode, pidsHoldingInode } from '../../identity/socket-holders.js';

/** How a signal was delivered: through a pidfd (immune to pid reuse) or `kill(2)` after a re-check. */
export type SignalMethod = 'pidfd' | 'kill';

/** What `signalHolders` did. @internal */
export interface SignalReport {
  readonly signalled: readonly number[];
  readonly method: SignalMethod;
}

const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;

/**
 * How to tell which processes hold a lock, from /proc: the only processes `signalHolders` may signal.
 * @internal
 */
export interface HolderProbe {
  /** Every process that holds the lock now (a scan of /proc). */
  readonly pids: () => Promise<number[]>;
  /** Whether `pid` still holds it: true, false, or undefined when /proc cannot tell. */
  readonly holds: (pid: number) => Promise<boolean | undefined>;
}

/** The processes that hold the socket `inode`. @internal */
export function socketHolderProbe(inode: number): HolderProbe {
  return { pids: () => pidsHoldingInode(inode), holds: (pid) => pidHoldsInode(pid, inode) };
}

/**
 * Sends `signal` to every process that holds the socket `inode` (except this one), and to no other.
 * @internal
 */
export function signalSocketHolders(inode: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<SignalReport> {
  return signalHolders(socketHolderProbe(inode), signal);
}

/**
 * Sends `signal` to every process `probe` finds holding the lock (except this one), and to no other.
 * With koffi, each pid is opened as a pidfd and re-verified *after* opening, so the signal goes to the
 * process that was verified even if its pid is recycled meanwhile. Without koffi (or on kernels without
 * pidfds) it re-verifies and then calls `process.kill`, which leaves a window of microseconds.
 * @throws Error with code EPERM when a holder belongs to another user (only root may signal it).
 * @internal
 */
export async function signalHolders(probe: HolderProbe, signal: 'SIGTERM' | 'SIGKILL'): Promise<SignalReport> {
  const pids = (await probe.pids()).filter((pid) => pid !== process.pid);
  const lib = await loadLibc();
  const signalled: number[] = [];
  let method: SignalMethod = lib === undefined ? 'kill' : 'pidfd';
  for (const pid of pids) {
    const pidfd = lib === undefined ? undefined : pidfdOpen(lib, pid);
    if (pidfd === 'gone') continue;
    if (pidfd === undefined) {
      method = 'kill';
      if ((await probe.holds(pid)) !== true) continue;
      try {
        process.kill(pid, signal);
        signalled.push(pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      continue;
    }
    try {
      if ((await probe.holds(pid)) !== true) continue;
      const result = Number(lib?.syscall(SYS_PIDFD_SEND_SIGNAL, 'int', pidfd, 'int', constants.signals[signal], 'void *', null, 'unsigned int', 0));
      if (result === 0) signalled.push(pid);
      else if (lib?.errno() === constants.errno.EPERM) throw permissionError(pid);
    } finally {
      closeSync(pidfd);
    }
  }
  return { signalled, method };
}

/** A pidfd for `pid`; 'gone' when it has exited; undefined when pidfds are not available. */
function pidfdOpen(lib: Libc, pid: number): number | 'gone' | undefined {
  const fd = Number(lib.syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0));
  if (fd >= 0) return fd;
  return lib.errno() === constants.errno.ESRCH ? 'gone' : undefined;
}


function permissionError(pid: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`not permitted to signal pid ${pid}`);
  error.code = 'EPERM';
  return error;
}
