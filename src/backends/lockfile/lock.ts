import { chmodSync, closeSync, lstatSync, unlinkSync } from 'node:fs';
import type net from 'node:net';
import type { Scope } from '../../address.js';
import { HolderConnection } from '../../client/holder-connection.js';
import { OnlyoneError } from '../../errors.js';
import type { NormalizedOptions } from '../../options.js';
import type { LockfilePaths } from './paths.js';
import { SocketLock, bindExclusive } from '../socket/lock.js';
import type { BackendLock } from '../types.js';

const KIND = 'lockfile';
/** Attempts at unlink + bind under the flock before giving up on a socket path someone keeps re-binding. */
const BIND_ATTEMPTS = 3;

/**
 * True when something accepts connections on the socket file: a holder whose `NAME.lock` was deleted and
 * re-created under it (by hand, or by a /tmp cleaner). Its socket must never be unlinked.
 */
async function socketIsLive(sockPath: string): Promise<boolean> {
  const outcome = await HolderConnection.open(sockPath);
  if (outcome.ok) {
    outcome.connection.close();
    return true;
  }
  return outcome.code === 'EAGAIN';
}

/**
 * Under the flock: removes a stale `NAME.sock` (its holder died) and binds a fresh one. Resolves undefined,
 * binding nothing, when the socket file is live: another holder still owns the lock through a lock file
 * that was unlinked behind its back, and taking over would make two holders.
 */
async function bindSocket(paths: LockfilePaths, scope: Scope): Promise<net.Server | undefined> {
  for (let attempt = 1; ; attempt++) {
    const existing = lstatSync(paths.sock, { throwIfNoEntry: false });
    if (existing !== undefined) {
      if (!existing.isSocket()) {
        throw new OnlyoneError('ERR_BACKEND', `${paths.sock} exists and is not a socket; refusing to delete it`);
      }
      if (await socketIsLive(paths.sock)) return undefined;
      try {
        unlinkSync(paths.sock);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new OnlyoneError('ERR_BACKEND', `Cannot remove the stale socket ${paths.sock}: ${(error as Error).message}`, { cause: error });
        }
      }
    }
    const server = await bindExclusive(paths.sock);
    if (server !== undefined) {
      try {
        // Connecting to a socket file needs write permission: in system scope every user may wait and ask.
        chmodSync(paths.sock, scope === 'system' ? 0o666 : 0o600);
      } catch (error) {
        server.close();
        throw new OnlyoneError('ERR_BACKEND', `Cannot set the mode of ${paths.sock}: ${(error as Error).message}`, { cause: error });
      }
      return server;
    }
    // Only a process that ignores the flock can bind here between our unlink and bind.
    if (attempt >= BIND_ATTEMPTS) throw new OnlyoneError('ERR_BACKEND', `${paths.sock} keeps being re-bound by a process that does not hold ${paths.lock}`);
  }
}

/**
 * A lockfile lock: the flock()ed descriptor of `NAME.lock` plus the holder socket bound at `NAME.sock`.
 * Release closes the socket first (libuv unlinks the file while we still hold the flock, so we can never
 * remove a successor's socket), then the lock descriptor.
 */
class LockfileLock implements BackendLock {
  readonly address: string;
  readonly fence: undefined = undefined;
  readonly #socket: SocketLock;
  #fd: number | undefined;

  readonly slot: number | undefined;

  constructor(fd: number, server: net.Server, paths: LockfilePaths, name: string, options: NormalizedOptions, slot: number | undefined) {
    this.address = paths.lock;
    this.slot = slot;
    this.#fd = fd;
    this.#socket = new SocketLock({
      server,
      address: paths.sock,
      name,
      ...(slot === undefined ? {} : { slot }),
      options,
      backend: KIND,
      afterClose: () => {
        if (this.#fd !== undefined) closeSync(this.#fd);
        this.#fd = undefined;
      },
    });
  }

  /** The lock file's descriptor: a child given it (as stdio[3]) keeps the flock after this process exits. */
  get fd(): number | undefined {
    return this.#fd;
  }

  get lost(): AbortSignal {
    return this.#socket.lost;
  }

  setRef(keepAlive: boolean): void {
    this.#socket.setRef(keepAlive);
  }

  release(): Promise<void> {
    return this.#socket.release();
  }
}

/**
 * Under the flock held on `fd`, binds `NAME.sock` and wraps both in a lock. Resolves undefined (with `fd`
 * closed) when a live socket is in the way.
 * @internal
 */
export async function hold(fd: number, paths: LockfilePaths, name: string, options: NormalizedOptions, slot?: number): Promise<BackendLock | undefined> {
  let server: net.Server | undefined;
  try {
    server = await bindSocket(paths, options.scope);
    if (server !== undefined) return new LockfileLock(fd, server, paths, name, options, slot);
  } catch (error) {
    server?.close();
    closeSync(fd);
    throw error;
  }
  closeSync(fd);
  return undefined;
}
