import type { Server, Socket } from 'node:net';

/**
 * The OS descriptor behind a connected socket or a listening server, or undefined when it has none (closed,
 * or not backed by a file descriptor). Node keeps it on the private libuv handle; this is the one place
 * that reaches for it.
 * @internal
 */
export function socketFd(socket: Socket | Server): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isSafeInteger(fd) && fd >= 0 ? fd : undefined;
}
