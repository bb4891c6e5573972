import { closeSync } from 'node:fs';

/** What the kernel says about the process on the other end of a Unix socket (`struct ucred`). */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number[]) => number;

/** The few libc calls onlyone makes through koffi. @internal */
export interface Libc {
  readonly getsockopt: GetSockOpt;
  readonly socket: (domain: number, type: number, protocol: number) => number;
  readonly connect: (fd: number, address: Buffer, length: number) => number;
  readonly recv: (fd: number, buffer: Buffer, length: number, flags: number) => number;
  readonly close: (fd: number) => number;
  readonly poll: (fds: Buffer, count: number, timeoutMs: number) => number;
  /** `long syscall(long, ...)`: variadic, so each argument after the number is preceded by its C type. */
  readonly syscall: (...args: unknown[]) => number | bigint;
  /** errno of the last failed call on this thread. */
  readonly errno: () => number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** Linux >= 6.5: a pidfd of the peer, which names the process itself rather than a reusable number. */
const SO_PEERPIDFD = 77;
const UCRED_BYTES = 12;

let native: Promise<Libc | undefined> | undefined;
let unavailable = 'koffi has not been loaded';

/**
 * Loads koffi and binds the libc calls, once. Resolves undefined when koffi cannot be used (not installed,
 * no native binary after `--omit=optional`, unknown libc, or the test-only switch `ONLYONE_NO_KOFFI=1`);
 * `credentialsUnavailableReason()` then says why. Never throws.
 * @internal
 */
export function loadLibc(): Promise<Libc | undefined> {
  native ??= (async () => {
    if (process.env['ONLYONE_NO_KOFFI'] === '1') {
      unavailable = 'peer credentials are disabled (ONLYONE_NO_KOFFI=1)';
      return undefined;
    }
    try {
      const loaded = (await import('koffi')) as unknown as { default?: KoffiLike } & KoffiLike;
      const koffi = loaded.default ?? loaded;
      const libc = openLibc(koffi);
      return {
        getsockopt: libc.func('int getsockopt(int, int, int, void *, _Inout_ uint32_t *)') as GetSockOpt,
        socket: libc.func('int socket(int, int, int)') as Libc['socket'],
        connect: libc.func('int connect(int, const void *, uint32_t)') as Libc['connect'],
        recv: libc.func('intptr_t recv(int, void *, uintptr_t, int)') as Libc['recv'],
        close: libc.func('int close(int)') as Libc['close'],
        poll: libc.func('int poll(void *, unsigned long, int)') as Libc['poll'],
        syscall: libc.func('long syscall(long, ...)') as Libc['syscall'],
        errno: () => koffi.errno(),
      };
    } catch (error) {
      unavailable = `peer credentials are unavailable: koffi could not be loaded (${(error as Error).message})`;
      return undefined;
    }
  })();
  return native;
}

interface KoffiLike {
  load(path: string | null): { func(definition: string): unknown };
  errno(): number;
}

function openLibc(koffi: KoffiLike): { func(definition: string): unknown } {
  let last: unknown;
  // glibc, then musl's names, then the symbols already linked into node itself.
  for (const path of ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1', null]) {
    try {
      return koffi.load(path);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/** True once koffi is loaded and usable; loads it if needed. Never throws. @internal */
export async function credentialsAvailable(): Promise<boolean> {
  return (await loadLibc()) !== undefined;
}

/** Why peer credentials cannot be read, for `unverifiedReason`. @internal */
export function credentialsUnavailableReason(): string {
  return unavailable;
}

/**
 * SO_PEERCRED of the socket `fd`: for an accepted socket, the process that connected; for a connecting
 * socket, the process that called listen() (which may since have handed the socket on, or died).
 * Undefined when koffi is unavailable or the call fails.
 * @internal
 */
export async function peerCredentials(fd: number): Promise<PeerCredentials | undefined> {
  const libc = await loadLibc();
  return libc === undefined ? undefined : readPeerCredentials(libc, fd);
}

/** `peerCredentials` with koffi already loaded. @internal */
export function readPeerCredentials(libc: Libc, fd: number): PeerCredentials | undefined {
  const value = Buffer.alloc(UCRED_BYTES);
  const length = [UCRED_BYTES];
  if (libc.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, length) !== 0 || length[0] !== UCRED_BYTES) return undefined;
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}

/**
 * SO_PEERPIDFD of the socket `fd`: a new pidfd (close-on-exec) for the same process as SO_PEERCRED's pid.
 * The caller owns it and must close it (see `closePidfd`). Undefined on kernels before 6.5, or without koffi.
 * @internal
 */
export async function peerPidfd(fd: number): Promise<number | undefined> {
  const libc = await loadLibc();
  return libc === undefined ? undefined : readPeerPidfd(libc, fd);
}

/** `peerPidfd` with koffi already loaded. @internal */
export function readPeerPidfd(libc: Libc, fd: number): number | undefined {
  const value = Buffer.alloc(4);
  const length = [4];
  if (libc.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, value, length) !== 0) return undefined;
  const pidfd = value.readInt32LE(0);
  return pidfd >= 0 ? pidfd : undefined;
}

/** Closes a pidfd from `peerPidfd`. @internal */
export function closePidfd(pidfd: number): void {
  try {
    closeSync(pidfd);
  } catch {
    // Already closed: nothing to leak.
  }
}
