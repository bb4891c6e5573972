import net from 'node:net';
import { ProtocolError, RemoteError } from '../errors.js';
import { osError } from '../os-error.js';
import { socketFd } from '../identity/socket-fd.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { CONTROL_FRAME_BYTES, encodeFrame, PROTOCOL_VERSION, type Frame } from '../protocol/frames.js';

/** Connect errors that say nothing about the holder: this process or the system ran out of something. */
const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/** A connect() error code, or 'ok'. */
export type ConnectOutcome = { readonly ok: true; readonly connection: HolderConnection } | { readonly ok: false; readonly code: string; readonly error: Error };

/**
 * A contender's connection to a holder: reads its hello, sends requests, and tells when the holder goes away.
 * @internal
 */
export class HolderConnection {
  readonly #socket: net.Socket;
  readonly #reader: FrameReader;
  readonly #pending = new Map<number, { resolve: (frame: Frame) => void; reject: (error: Error) => void }>();
  readonly #closed: Promise<void>;
  #hello: Frame | undefined;
  #helloWaiters: Array<(frame: Frame | Error) => void> = [];
  #nextId = 1;
  #failure: Error | undefined;

  private constructor(socket: net.Socket, maxFrameBytes: number) {
    this.#socket = socket;
    this.#reader = new FrameReader(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // 'end' (the holder hung up) arrives about a millisecond before 'close' on a cold process; waiters wake on it.
    this.#closed = new Promise((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
    socket.on('close', () => this.#fail(new ProtocolError('holder closed the connection')));
  }

  /**
   * Connects to `address`. Resolves once connected (before hello), or with the connect error's code.
   * @throws OsError (`ERR_OS`) when the system refuses a socket (EMFILE, ENFILE, ENOBUFS, ENOMEM): whether anyone
   * holds the lock is then unknown, and no caller may take that for "free".
   */
  static open(address: string, maxMessageBytes = 0): Promise<ConnectOutcome> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: on the holder's end-of-file Node would otherwise shut our side down first, in the cold
      // path between the holder's death and our bind. Every user closes the connection itself.
      const socket = net.connect({ path: address, allowHalfOpen: true });
      const onError = (error: NodeJS.ErrnoException): void => {
        socket.destroy();
        if (OUT_OF_RESOURCES.has(error.code ?? '')) reject(osError("Cannot connect to the lock's holder", error));
        else resolve({ ok: false, code: error.code ?? 'UNKNOWN', error });
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.on('error', () => {});
        resolve({ ok: true, connection: new HolderConnection(socket, maxMessageBytes + CONTROL_FRAME_BYTES) });
      });
    });
  }

  /** Resolves when the holder ends the connection, or it is closed from either side. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** The connected socket's descriptor, for peer credentials; undefined once closed. */
  get fd(): number | undefined {
    return socketFd(this.#socket);
  }

  /** The hello frame, once it has arrived. */
  get helloFrame(): Frame | undefined {
    return this.#hello;
  }

  /** Waits for the holder's hello. Rejects with ProtocolError if it does not come within `timeoutMs`. */
  hello(timeoutMs: number): Promise<Frame> {
    if (this.#hello !== undefined) return Promise.resolve(this.#hello);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ProtocolError(`holder sent no hello within ${timeoutMs} ms`)), timeoutMs);
      this.#helloWaiters.push((frame) => {
        clearTimeout(timer);
        if (frame instanceof Error) reject(frame);
        else resolve(frame);
      });
    });
  }

  /** Sends a request frame and resolves with the holder's answer; error frames reject with RemoteError. */
  request(frame: Frame, timeoutMs: number): Promise<Frame> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ProtocolError(`holder did not answer ${frame.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#socket.write(encodeFrame({ ...frame, id }));
    });
  }

  /** Keeps (or stops keeping) the event loop alive while this connection is open. */
  ref(on: boolean): void {
    if (on) this.#socket.ref();
    else this.#socket.unref();
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const { frames, fault } = this.#reader.feed(chunk);
    for (const frame of frames) this.#onFrame(frame);
    if (fault !== undefined) {
      this.#fail(new ProtocolError(`holder sent a bad frame: ${fault.message}`));
      this.#socket.destroy();
    }
  }

  #onFrame(frame: Frame): void {
    if (frame.type === 'hello' && this.#hello === undefined) {
      this.#hello = frame;
      for (const waiter of this.#helloWaiters) waiter(frame);
      this.#helloWaiters = [];
      // Another protocol version (docs/protocol.md §3): no request is answered in a language we know. The
      // connection stays open, so a waiter still wakes when that holder lets go.
      if (frame['v'] !== PROTOCOL_VERSION) {
        this.#failRequests(new ProtocolError(`holder speaks protocol version ${JSON.stringify(frame['v'] ?? null).slice(0, 20)}; this onlyone speaks version ${PROTOCOL_VERSION}`));
      }
      return;
    }
    const { id } = frame;
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (pending === undefined) {
      // An error without an id (busy, bad frame) is about the whole connection.
      if (frame.type === 'error') this.#fail(remoteError(frame));
      return;
    }
    this.#pending.delete(id as number);
    if (frame.type === 'error') pending.reject(remoteError(frame));
    else pending.resolve(frame);
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    for (const waiter of this.#helloWaiters) waiter(error);
    this.#helloWaiters = [];
    this.#failRequests(error);
  }

  /** Rejects every request, pending and future, with `error`. */
  #failRequests(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

function remoteError(frame: Frame): RemoteError {
  const code = typeof frame['code'] === 'string' ? frame['code'] : 'unknown';
  const message = typeof frame['message'] === 'string' ? frame['message'] : 'holder answered with an error';
  return new RemoteError(code, message);
}
