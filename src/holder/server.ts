import type { Server, Socket } from 'node:net';
import { FrameReader } from '../protocol/frame-reader.js';
import { CONTROL_FRAME_BYTES, encodeFrame, errorFrame, type Frame, type ProtocolErrorCode } from '../protocol/frames.js';
import { assertPlainJson } from '../protocol/plain-json.js';
import type { MessageHandler, PeerIdentity } from './messages.js';
import { serveRerun } from './rerun-frame.js';
import type { RerunQueue } from './reruns.js';
import { invalidMessage, runHandler } from './run-handler.js';

/** How a holder treats the connections it accepts. All fields are filled in. @internal */
export interface HolderServerOptions {
  /** Builds the hello frame; called once, on the first connection, so acquire stays cheap. */
  readonly hello: () => Frame;
  readonly maxConnections: number;
  /** Largest message payload accepted; frames get a little room on top for the envelope. */
  readonly maxMessageBytes: number;
  /** A frame that has started must be complete within this time. Idle connections (waiters) may stay. */
  readonly frameTimeoutMs: number;
  readonly messageTimeoutMs: number;
  readonly onMessage: MessageHandler | undefined;
  /** Resolves who is on the other end; only called for requests that need it. */
  readonly identify: (socket: Socket) => Promise<PeerIdentity>;
  /** Decides whether a peer may send requests other than ping. */
  readonly authorize: (peer: PeerIdentity) => boolean;
  /** Called when an authorized peer asks the holder to release; without it such requests get `not_supported`. */
  readonly onReleaseRequest: ((peer: PeerIdentity) => void) | undefined;
  /** `coalesce`: where `rerun` requests go; without it they get `not_supported`. */
  readonly reruns?: RerunQueue | undefined;
  readonly ref: boolean;
}

/** Requests in flight on one connection beyond which the holder answers `busy`. */
const MAX_IN_FLIGHT = 16;
/** Bytes queued to a peer that does not read, beyond which the holder drops it (at least two full replies). */
const MIN_QUEUED_WRITE_BYTES = 4 * 1024 * 1024;

/**
 * Serves protocol v1 on a bound, listening socket: hello on accept, then requests.
 * Hostile peers cannot crash it, block it or make it leak: every frame is capped, every partial frame is
 * timed, connections are capped, and every socket error is contained.
 * @internal
 */
export class HolderServer {
  readonly #server: Server;
  readonly #options: HolderServerOptions;
  readonly #sockets = new Set<Socket>();
  #helloBytes: Buffer | undefined;
  #closed = false;

  constructor(server: Server, options: HolderServerOptions) {
    this.#server = server;
    this.#options = options;
    server.on('connection', (socket) => this.#accept(socket));
    // An accept error (EMFILE) must not crash the holder; the lock itself is still held.
    server.on('error', () => {});
  }

  /** Number of open accepted connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  ref(): void {
    for (const socket of this.#sockets) socket.ref();
  }

  unref(): void {
    for (const socket of this.#sockets) socket.unref();
  }

  /** Stops accepting and destroys every accepted connection, which is what wakes the waiters. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.#closed) {
      socket.destroy();
      return;
    }
    if (!this.#options.ref) socket.unref();
    if (this.#sockets.size >= this.#options.maxConnections) {
      socket.end(encodeFrame(errorFrame('busy', `holder has ${this.#sockets.size} connections, the maximum`)));
      socket.setTimeout(1000, () => socket.destroy());
      return;
    }
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    warmStderr();
    this.#helloBytes ??= encodeFrame(this.#options.hello());
    socket.write(this.#helloBytes);
    new Connection(socket, this.#options, () => this.#closed).start();
  }
}

let stderrReady = false;

/**
 * Node's `Socket#destroy()` reads `process.stderr`, and the first read builds that stream (a TTY or file check,
 * about a millisecond in a cold process). Build it when the first peer connects, off the release path: otherwise
 * the first release pays it between closing the listener and hanging up on the waiters.
 */
function warmStderr(): void {
  if (stderrReady) return;
  stderrReady = true;
  void process.stderr;
}

/** One accepted peer: reads its frames and answers them. */
class Connection {
  readonly #socket: Socket;
  readonly #options: HolderServerOptions;
  readonly #isClosed: () => boolean;
  readonly #reader: FrameReader;
  #inFlight = 0;
  #peer: Promise<PeerIdentity> | undefined;
  #partialTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, options: HolderServerOptions, isClosed: () => boolean) {
    this.#socket = socket;
    this.#options = options;
    this.#isClosed = isClosed;
    this.#reader = new FrameReader(options.maxMessageBytes + CONTROL_FRAME_BYTES);
  }

  start(): void {
    const socket = this.#socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // A peer that half-closes gets its answers, then the connection ends.
    socket.on('end', () => {
      if (this.#inFlight === 0) socket.end();
    });
    socket.on('close', () => clearTimeout(this.#partialTimer));
  }

  #onData(chunk: Buffer): void {
    const { frames, fault } = this.#reader.feed(chunk);
    for (const frame of frames) this.#dispatch(frame);
    if (fault !== undefined) {
      this.#fatal(fault.kind, fault.message);
      return;
    }
    this.#armPartialTimer(frames.length > 0);
  }

  /** Times the frame in progress from its first byte: re-arming on every chunk would let a peer drip forever. */
  #armPartialTimer(completedFrames: boolean): void {
    if (completedFrames || this.#reader.pendingBytes === 0) {
      clearTimeout(this.#partialTimer);
      this.#partialTimer = undefined;
    }
    if (this.#reader.pendingBytes === 0 || this.#partialTimer !== undefined) return;
    this.#partialTimer = setTimeout(() => {
      this.#fatal('bad_frame', `frame not completed within ${this.#options.frameTimeoutMs} ms`);
    }, this.#options.frameTimeoutMs);
    this.#partialTimer.unref();
  }

  #dispatch(frame: Frame): void {
    const { id } = frame;
    switch (frame.type) {
      case 'ping':
        this.#send({ type: 'pong', ...(id === undefined ? {} : { id }) });
        return;
      case 'message':
      case 'release':
      case 'rerun':
        if (this.#inFlight >= MAX_IN_FLIGHT) {
          this.#send(errorFrame('busy', `more than ${MAX_IN_FLIGHT} requests in flight`, id));
          return;
        }
        this.#inFlight++;
        this.#request(frame)
          .catch(() => {})
          .finally(() => {
            this.#inFlight--;
            if (this.#inFlight === 0 && this.#socket.readableEnded) this.#socket.end();
          });
        return;
      default:
        this.#send(errorFrame('unknown_type', `unknown frame type ${JSON.stringify(frame.type).slice(0, 80)}`, id));
    }
  }

  async #request(frame: Frame): Promise<void> {
    const { id } = frame;
    this.#peer ??= this.#options.identify(this.#socket);
    let peer: PeerIdentity;
    try {
      peer = await this.#peer;
    } catch (error) {
      // Without an identity nothing but ping is allowed; the sender must get an answer, not silence.
      this.#send(errorFrame('forbidden', `could not identify the peer: ${error instanceof Error ? error.message : String(error)}`, id));
      return;
    }
    if (!this.#options.authorize(peer)) {
      const who = peer.verified ? `uid ${peer.uid ?? 'unknown'}` : 'a sender whose uid the kernel could not confirm';
      this.#send(errorFrame('forbidden', `${who} may not send ${frame.type} requests to this holder`, id));
      return;
    }
    if (frame.type === 'rerun') {
      await serveRerun(frame, peer, this.#options.reruns, (answer) => this.#send(answer));
      return;
    }
    if (frame.type === 'release') {
      const onRelease = this.#options.onReleaseRequest;
      if (onRelease === undefined) {
        this.#send(errorFrame('not_supported', 'this holder does not release on request', id));
        return;
      }
      this.#send({ type: 'releasing', ...(id === undefined ? {} : { id }) });
      // The callback may be async: neither a throw nor a rejection may crash the holder. The answer is sent.
      Promise.resolve()
        .then(() => onRelease(peer))
        .catch((error: unknown) => process.emitWarning(`onReleaseRequest failed: ${error instanceof Error ? error.message : String(error)}`, 'OnlyoneWarning'));
      return;
    }
    const handler = this.#options.onMessage;
    if (handler === undefined) {
      this.#send(errorFrame('no_handler', 'this holder does not accept messages', id));
      return;
    }
    const invalid = invalidMessage(frame, this.#options.maxMessageBytes);
    if (invalid !== undefined) {
      this.#send(errorFrame(invalid.code, invalid.message, id));
      return;
    }
    const reply = await runHandler(handler, frame, peer, this.#options.messageTimeoutMs, this.#socket);
    if ('error' in reply) {
      this.#send(errorFrame(reply.error, reply.message, id));
      return;
    }
    let data: string;
    try {
      assertPlainJson(reply.data, 'reply');
      data = JSON.stringify(reply.data);
    } catch (error) {
      this.#send(errorFrame('handler_error', `the handler's reply cannot be sent: ${(error as Error).message}`, id));
      return;
    }
    const dataBytes = Buffer.byteLength(data, 'utf8');
    if (dataBytes > this.#options.maxMessageBytes) {
      this.#send(errorFrame('too_large', `reply of ${dataBytes} bytes exceeds the ${this.#options.maxMessageBytes}-byte cap`, id));
      return;
    }
    // The data is already JSON: splice it into the frame rather than encode a megabyte twice.
    this.#write(Buffer.from(`{"type":"reply",${id === undefined ? '' : `"id":${JSON.stringify(id)},`}"data":${data}}\n`, 'utf8'));
  }

  #send(frame: Frame): void {
    this.#write(encodeFrame(frame));
  }

  #write(bytes: Buffer): void {
    const socket = this.#socket;
    if (socket.destroyed || this.#isClosed()) return;
    const cap = Math.max(MIN_QUEUED_WRITE_BYTES, 2 * (this.#options.maxMessageBytes + CONTROL_FRAME_BYTES));
    if (socket.writableLength + bytes.length > cap) {
      socket.destroy();
      return;
    }
    socket.write(bytes);
  }

  #fatal(code: ProtocolErrorCode, message: string): void {
    clearTimeout(this.#partialTimer);
    const socket = this.#socket;
    if (socket.destroyed) return;
    socket.end(encodeFrame(errorFrame(code, message)));
    // Do not wait on a peer that will not read its error.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}
