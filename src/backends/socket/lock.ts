import net from 'node:net';
import { buildHello } from '../../holder/hello.js';
import { HolderServer } from '../../holder/server.js';
import { identifyPeer, peerAuthorizer } from '../../identity/peer-identity.js';
import { socketFd } from '../../identity/socket-fd.js';
import type { NormalizedOptions } from '../../options.js';
import { isOsRefusal, osError } from '../../os-error.js';
import type { BackendLock } from '../types.js';

/** What a socket-based backend knows about the lock it just bound. @internal */
export interface SocketLockInit {
  readonly server: net.Server;
  readonly address: string;
  readonly name: string;
  readonly options: NormalizedOptions;
  readonly backend: string;
  /** Slot index, when the lock is one of `slots`; `name` is then the base name. */
  readonly slot?: number;
  /** The waiters' line ticket this holder waited with (said in its hello, so the line behind it stays in order). */
  readonly queueTicket?: number | undefined;
  /** Extra cleanup after the socket is closed (the lockfile backend unlocks its file here). */
  readonly afterClose?: () => void;
}

/**
 * Binds `address` as an exclusive listening socket. Resolves with the server, or undefined when the
 * address is in use. Out of descriptors or memory rejects with an OsError; any other error (EACCES on a socket
 * file's directory, EINVAL) with the OS error.
 * @internal
 */
export function bindExclusive(address: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a peer that sends its request and shuts down its side still gets the answer.
    const server = net.createServer({ allowHalfOpen: true });
    const onError = (error: NodeJS.ErrnoException): void => {
      server.close();
      if (error.code === 'EADDRINUSE') resolve(undefined);
      else if (isOsRefusal(error.code) && error.code !== 'EACCES') reject(osError('Cannot take the lock', error));
      else reject(error);
    };
    server.once('error', onError);
    // exclusive: cluster workers would otherwise share one handle and all "hold" the lock.
    server.listen({ path: address, exclusive: true, backlog: 511 }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

/**
 * A lock held by a bound listening socket, serving the holder protocol on it.
 * @internal
 */
export class SocketLock implements BackendLock {
  readonly address: string;
  readonly fence: undefined;
  readonly slot: number | undefined;
  readonly #server: net.Server;
  readonly #holder: HolderServer;
  readonly #lost = new AbortController();
  readonly #afterClose: (() => void) | undefined;
  #released: Promise<void> | undefined;

  constructor(init: SocketLockInit) {
    const { server, options } = init;
    this.address = init.address;
    this.slot = init.slot;
    this.#server = server;
    this.#afterClose = init.afterClose;
    const acquiredAt = Date.now();
    this.#holder = new HolderServer(server, {
      hello: () =>
        buildHello({
          name: init.name,
          scope: options.scope,
          slot: init.slot,
          command: options.command,
          acquiredAt,
          backend: init.backend,
          fence: undefined,
          queueTicket: init.queueTicket,
        }),
      maxConnections: options.maxConnections,
      maxMessageBytes: options.maxMessageBytes,
      frameTimeoutMs: options.frameTimeoutMs,
      messageTimeoutMs: options.messageTimeoutMs,
      onMessage: options.onMessage,
      identify: identifyPeer,
      authorize: peerAuthorizer(options.allowUids),
      onReleaseRequest: options.onReleaseRequest,
      reruns: options.reruns,
      ref: options.ref,
    });
    this.setRef(options.ref);
  }

  get fd(): number | undefined {
    return socketFd(this.#server);
  }

  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  setRef(keepAlive: boolean): void {
    if (keepAlive) {
      this.#server.ref();
      this.#holder.ref();
    } else {
      this.#server.unref();
      this.#holder.unref();
    }
  }

  release(): Promise<void> {
    // The listening fd is closed synchronously inside close(), so the name is free when this returns.
    this.#released ??= (async () => {
      this.#holder.close();
      this.#afterClose?.();
    })();
    return this.#released;
  }
}
