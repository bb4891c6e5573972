import { isFrameId, type Frame } from './frames.js';

/** Why a byte stream stopped being a valid frame stream. */
export type FrameFault = 'too_large' | 'bad_frame';

/** The outcome of feeding bytes: frames found, and a fault that ends the stream if any. */
export interface FeedResult {
  readonly frames: Frame[];
  readonly fault?: { readonly kind: FrameFault; readonly message: string };
}

const NEWLINE = 0x0a;
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits a byte stream into newline-delimited JSON frames, never buffering more than `maxBytes`.
 * After a fault the reader stays broken: the connection must be closed.
 * @internal
 */
export class FrameReader {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #broken = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  feed(chunk: Buffer): FeedResult {
    const frames: Frame[] = [];
    if (this.#broken) return { frames };
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      if (this.#buffered + nl - start > this.#maxBytes) return this.#fail(frames, 'too_large', `frame larger than ${this.#maxBytes} bytes`);
      this.#chunks.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.#chunks);
      this.#chunks = [];
      this.#buffered = 0;
      start = nl + 1;
      const parsed = parseFrame(line);
      if (typeof parsed === 'string') return this.#fail(frames, 'bad_frame', parsed);
      frames.push(parsed);
    }
    const rest = chunk.length - start;
    if (this.#buffered + rest > this.#maxBytes) return this.#fail(frames, 'too_large', `frame larger than ${this.#maxBytes} bytes`);
    if (rest > 0) {
      this.#chunks.push(chunk.subarray(start));
      this.#buffered += rest;
    }
    return { frames };
  }

  #fail(frames: Frame[], kind: FrameFault, message: string): FeedResult {
    this.#broken = true;
    this.#chunks = [];
    this.#buffered = 0;
    return { frames, fault: { kind, message } };
  }
}

/** Parses one line; returns the frame, or a string saying what is wrong with it. */
function parseFrame(line: Buffer): Frame | string {
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return 'frame is not valid UTF-8';
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse also throws RangeError on absurd nesting; either way the frame is unusable.
    return `frame is not JSON: ${(error as Error).message.slice(0, 200)}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame is not a JSON object';
  const frame = value as Record<string, unknown>;
  if (typeof frame['type'] !== 'string') return 'frame has no string "type"';
  if (frame['id'] !== undefined && !isFrameId(frame['id'])) return 'frame "id" must be a safe integer or a string of at most 64 characters';
  return frame as Frame;
}
