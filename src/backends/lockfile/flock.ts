import { OnlyoneError } from '../../errors.js';

/** `flock(2)` operations; the values are the same on Linux, macOS and the BSDs. */
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

/** Shared libraries that export `flock`, per platform, tried in order. */
const LIBC: Readonly<Record<string, readonly string[]>> = {
  linux: ['libc.so.6', 'libc.so', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1'],
  darwin: ['libSystem.B.dylib', '/usr/lib/libSystem.B.dylib'],
  freebsd: ['libc.so.7'],
  openbsd: ['libc.so'],
};

interface FlockBinding {
  readonly flock: (fd: number, operation: number) => number;
  readonly errno: () => number;
  readonly wouldBlock: ReadonlySet<number>;
  readonly interrupted: number;
}

let binding: Promise<FlockBinding> | undefined;

/**
 * Loads koffi and binds `flock` from the C library, once. koffi is only imported here, so a plain
 * abstract-socket acquire never pays for it.
 * @throws OnlyoneError (`ERR_BACKEND`) when koffi or the C library cannot be loaded.
 * @internal
 */
export function loadFlock(): Promise<FlockBinding> {
  binding ??= bind().catch((error: unknown) => {
    binding = undefined;
    throw error;
  });
  return binding;
}

async function bind(): Promise<FlockBinding> {
  let koffi: (typeof import('koffi'))['default'];
  try {
    koffi = (await import('koffi')).default;
  } catch (error) {
    throw new OnlyoneError(
      'ERR_BACKEND',
      'The lockfile backend calls flock(2) through koffi, which could not be loaded (an install with --omit=optional has no koffi binary); reinstall with optional dependencies or use the abstract backend',
      { cause: error },
    );
  }
  const failures: unknown[] = [];
  for (const file of LIBC[process.platform] ?? ['libc.so']) {
    try {
      const lib = koffi.load(file);
      const flock = lib.func('int flock(int fd, int operation)') as (fd: number, operation: number) => number;
      const codes = koffi.os.errno;
      const wouldBlock = new Set([codes['EWOULDBLOCK'], codes['EAGAIN']].filter((code): code is number => code !== undefined));
      return { flock, errno: () => koffi.errno(), wouldBlock, interrupted: codes['EINTR'] ?? 4 };
    } catch (error) {
      failures.push(error);
    }
  }
  throw new OnlyoneError('ERR_BACKEND', `The lockfile backend could not find flock(2) in the C library on ${process.platform}`, {
    cause: new AggregateError(failures),
  });
}

/**
 * Tries to lock `fd` with `flock(LOCK_NB)`: exclusive by default, shared to probe without taking the lock.
 * Resolves true when locked, false when someone else holds a conflicting lock.
 * @throws OnlyoneError (`ERR_BACKEND`) when koffi is unavailable or flock fails for another reason.
 * @internal
 */
export async function tryFlock(fd: number, shared = false): Promise<boolean> {
  const { flock, errno, wouldBlock, interrupted } = await loadFlock();
  for (;;) {
    if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) === 0) return true;
    const code = errno();
    if (wouldBlock.has(code)) return false;
    if (code !== interrupted) throw new OnlyoneError('ERR_BACKEND', `flock(2) failed with errno ${code}`);
  }
}
