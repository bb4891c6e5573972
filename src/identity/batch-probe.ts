import { sleep } from '../sleep.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { CONTROL_FRAME_BYTES, type Frame } from '../protocol/frames.js';
import { errnoCode, osError } from '../os-error.js';
import { readPeerCredentials, readPeerPidfd, type Libc, type PeerCredentials } from './peercred.js';

/** What probing one listening socket found. @internal */
export interface ProbeResult {
  /** The reading of the printed path that answered, or the first one when none did. */
  readonly address: string;
  /** `refused`: nothing listens at any reading (released meanwhile); `full`: backlog full (EAGAIN). */
  readonly outcome: 'connected' | 'refused' | 'full';
  readonly credentials: PeerCredentials | undefined;
  /** Owned by the receiver of the result, which must close it. */
  readonly pidfd: number | undefined;
  readonly hello: Frame | undefined;
  /** Why there is no hello, when there is none. */
  readonly silentReason: string;
}

const AF_UNIX = 1;
const SOCK_STREAM_NONBLOCK_CLOEXEC = 1 | 0o4000 | 0o2000000;
const SOCKADDR_UN_BYTES = 110;
const POLLIN = 0x1;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;

interface Pending {
  /** Whether the binder's liveness was checked, once the probe was slow to answer. */
  orphanChecked: boolean;
  readonly address: string;
  readonly fd: number;
  readonly credentials: PeerCredentials | undefined;
  readonly pidfd: number | undefined;
  readonly deadline: number;
  readonly reader: FrameReader;
}

/**
 * Connects to many holders at once with raw non-blocking sockets (koffi), reads each one's credentials and
 * hello, and hands each result to `onResult` as it completes. This is `list` at scale: a few syscalls per
 * lock instead of a Node stream each. Never blocks the event loop for long: polls without waiting and
 * yields between rounds, so holders in this very process still answer.
 * @throws OsError when socket() fails (EMFILE); every descriptor it opened is closed first.
 * @internal
 */
export async function probeHolders(
  libc: Libc,
  readings: readonly Iterable<string>[],
  helloTimeoutMs: number,
  window: number,
  /** After this long without an answer, `isOrphan` is asked once whether to stop waiting. */
  orphanAfterMs: number,
  isOrphan: (probe: { readonly credentials: PeerCredentials | undefined; readonly pidfd: number | undefined }) => boolean,
  onResult: (result: ProbeResult) => void,
): Promise<void> {
  const inflight: Pending[] = [];
  const chunk = Buffer.allocUnsafe(CONTROL_FRAME_BYTES);
  const finish = (probe: Pending, hello: Frame | undefined, silentReason: string): void => {
    inflight.splice(inflight.indexOf(probe), 1);
    libc.close(probe.fd);
    onResult({ address: probe.address, outcome: 'connected', credentials: probe.credentials, pidfd: probe.pidfd, hello, silentReason });
  };
  let next = 0;
  try {
    while (next < readings.length || inflight.length > 0) {
      while (inflight.length < window && next < readings.length) {
        const started = connectFirst(libc, readings[next++] ?? [], helloTimeoutMs);
        if ('fd' in started) inflight.push(started);
        else onResult(started);
      }
      const fds = Buffer.alloc(8 * inflight.length);
      inflight.forEach((probe, i) => {
        fds.writeInt32LE(probe.fd, 8 * i);
        fds.writeInt16LE(POLLIN, 8 * i + 4);
      });
      const ready = inflight.length === 0 ? 0 : libc.poll(fds, inflight.length, 0);
      const now = Date.now();
      for (const [i, probe] of [...inflight].entries()) {
        const events = ready > 0 ? fds.readInt16LE(8 * i + 6) : 0;
        const done = events === 0 ? undefined : readHello(libc, probe, chunk);
        if (done !== undefined) finish(probe, done.hello, done.silentReason);
        else if (now > probe.deadline) finish(probe, undefined, `holder sent no hello within ${helloTimeoutMs} ms`);
        else if (!probe.orphanChecked && now - probe.deadline + helloTimeoutMs >= orphanAfterMs) {
          // Slow to answer: if the process that bound it has exited, no one will (see ORPHAN_HELLO_MS).
          probe.orphanChecked = true;
          if (isOrphan(probe)) finish(probe, undefined, 'the process that bound the lock has exited, and the processes holding it now do not answer');
        }
      }
      // Let holders (including any in this process) answer; do not spin while waiting for them.
      if (inflight.length > 0) await (ready > 0 ? new Promise<void>((resolve) => setImmediate(resolve)) : sleep(1));
    }
  } finally {
    // Only after an error (EMFILE, a throwing onResult): nothing may stay open.
    for (const probe of inflight) {
      libc.close(probe.fd);
      if (probe.pidfd !== undefined) libc.close(probe.pidfd);
    }
  }
}

function connectFirst(libc: Libc, readings: Iterable<string>, helloTimeoutMs: number): Pending | ProbeResult {
  let first: string | undefined;
  const refused = (outcome: 'refused' | 'full', silentReason: string): ProbeResult => ({ address: first ?? '', outcome, credentials: undefined, pidfd: undefined, hello: undefined, silentReason });
  for (const address of readings) {
    first ??= address;
    const fd = libc.socket(AF_UNIX, SOCK_STREAM_NONBLOCK_CLOEXEC, 0);
    if (fd < 0) throw osError('Cannot probe the held locks', { code: errnoCode(libc.errno()) });
    const sockaddr = Buffer.alloc(SOCKADDR_UN_BYTES);
    sockaddr.writeUInt16LE(AF_UNIX, 0);
    const path = Buffer.from(address, 'utf8');
    path.copy(sockaddr, 2, 0, Math.min(path.length, SOCKADDR_UN_BYTES - 2));
    if (libc.connect(fd, sockaddr, 2 + Math.min(path.length, SOCKADDR_UN_BYTES - 2)) === 0) {
      // Credentials first: they describe the socket, whatever the holder says or does next.
      const credentials = readPeerCredentials(libc, fd);
      const pidfd = credentials === undefined ? undefined : readPeerPidfd(libc, fd);
      return { orphanChecked: false, address, fd, credentials, pidfd, deadline: Date.now() + helloTimeoutMs, reader: new FrameReader(CONTROL_FRAME_BYTES) };
    }
    const errno = libc.errno();
    libc.close(fd);
    if (errno === EAGAIN) return refused('full', 'the holder is not accepting connections (backlog full)');
  }
  return refused('refused', 'nothing listens there any more');
}

/** Reads what is there; resolves the probe when a first frame, end of stream or an error arrived. */
function readHello(libc: Libc, probe: Pending, chunk: Buffer): { hello: Frame | undefined; silentReason: string } | undefined {
  for (;;) {
    const n = Number(libc.recv(probe.fd, chunk, chunk.length, MSG_DONTWAIT));
    if (n === 0) return { hello: undefined, silentReason: 'holder closed the connection' };
    if (n < 0) {
      const errno = libc.errno();
      if (errno === EAGAIN) return undefined;
      if (errno === EINTR) continue;
      return { hello: undefined, silentReason: `reading the hello failed (errno ${errno})` };
    }
    // A copy: the reader may keep a partial frame, and `chunk` is reused.
    const { frames, fault } = probe.reader.feed(Buffer.from(chunk.subarray(0, n)));
    const first = frames[0];
    if (first?.type === 'hello') return { hello: first, silentReason: '' };
    if (first !== undefined) {
      const code = typeof first['code'] === 'string' ? first['code'] : first.type;
      const message = typeof first['message'] === 'string' ? first['message'] : 'no hello';
      return { hello: undefined, silentReason: `${message} (${code})` };
    }
    if (fault !== undefined) return { hello: undefined, silentReason: `holder sent a bad frame: ${fault.message}` };
  }
}
