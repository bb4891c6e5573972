/** The protocol version this library speaks. See docs/protocol.md. */
export const PROTOCOL_VERSION: number = 1;
/** Cap on frames other than messages and replies (hello, ping, release, errors). */
export const CONTROL_FRAME_BYTES: number = 64 * 1024;
/** Default cap on a message's or reply's encoded payload. */
export const DEFAULT_MAX_MESSAGE_BYTES: number = 1024 * 1024;

/** Error codes a holder puts in `error` frames. */
export type ProtocolErrorCode =
  | 'bad_frame'
  | 'too_large'
  | 'unknown_type'
  | 'forbidden'
  | 'busy'
  | 'no_handler'
  | 'handler_error'
  | 'handler_timeout'
  | 'not_supported';

/** A frame as it travels: one JSON object per line. */
export interface Frame {
  readonly type: string;
  readonly id?: number | string;
  readonly [key: string]: unknown;
}

/** The id a request carries and its answer echoes: a safe integer or a short string. */
export function isFrameId(value: unknown): value is number | string {
  return (typeof value === 'string' && value.length <= 64) || Number.isSafeInteger(value);
}

/** Encodes a frame as a newline-terminated UTF-8 line. JSON.stringify escapes every raw newline. */
export function encodeFrame(frame: Frame): Buffer {
  return Buffer.from(`${JSON.stringify(frame)}\n`, 'utf8');
}

/** Builds an `error` frame. */
export function errorFrame(code: ProtocolErrorCode, message: string, id?: number | string): Frame {
  return id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message };
}
