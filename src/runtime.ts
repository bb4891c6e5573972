import { UnsupportedError } from './errors.js';

let checked = false;

/**
 * Refuses runtimes where abstract names cannot be bound reliably.
 * libuv < 1.46 (Node 18, Node 20.0-20.7) maps every abstract name to one address or fails with EINVAL.
 * @throws UnsupportedError with `ERR_UNSUPPORTED_PLATFORM` off Linux, `ERR_UNSUPPORTED_RUNTIME` on old libuv.
 * @internal
 */
export function assertAbstractSupported(): void {
  if (checked) return;
  if (process.platform !== 'linux') {
    throw new UnsupportedError(
      'ERR_UNSUPPORTED_PLATFORM',
      `The abstract backend needs Linux (this is ${process.platform}); use { backend: 'lockfile' } or --backend lockfile`,
    );
  }
  if (!libuvAtLeast(process.versions.uv ?? '0', 1, 46)) {
    throw new UnsupportedError(
      'ERR_UNSUPPORTED_RUNTIME',
      `onlyone needs libuv >= 1.46 (Node >= 20.8) to bind abstract sockets safely; this Node ${process.version} has libuv ${process.versions.uv}`,
    );
  }
  checked = true;
}

/** @internal */
export function libuvAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}
