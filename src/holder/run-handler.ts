import type { Socket } from 'node:net';
import type { Frame, ProtocolErrorCode } from '../protocol/frames.js';
import type { MessageHandler, PeerIdentity } from './messages.js';

/**
 * Why a message frame cannot be handed to the handler, or undefined. argv must be strings only: dropping
 * the odd element would hand the handler a command line the sender never gave.
 * @internal
 */
export function invalidMessage(frame: Frame, maxMessageBytes: number): { code: ProtocolErrorCode; message: string } | undefined {
  const argv = frame['argv'];
  if (argv !== undefined && !(Array.isArray(argv) && argv.every((arg) => typeof arg === 'string'))) {
    return { code: 'bad_frame', message: 'message "argv" must be an array of strings' };
  }
  if (frame['cwd'] !== undefined && typeof frame['cwd'] !== 'string') return { code: 'bad_frame', message: 'message "cwd" must be a string' };
  let encoded: string;
  try {
    encoded = JSON.stringify(frame['data'] ?? null);
  } catch (error) {
    // JSON.parse accepts nesting (100k levels) that JSON.stringify overflows the stack on: refuse, do not go silent.
    return { code: 'bad_frame', message: `message "data" cannot be re-encoded: ${(error as Error).message}` };
  }
  const bytes = Buffer.byteLength(encoded, 'utf8');
  if (bytes > maxMessageBytes) return { code: 'too_large', message: `message data of ${bytes} bytes exceeds the holder's ${maxMessageBytes}-byte cap` };
  return undefined;
}

/** What a handler produced: the reply's data, or an error frame's code and message. @internal */
export type HandlerOutcome = { readonly data: unknown } | { readonly error: ProtocolErrorCode; readonly message: string };

/** Runs a message handler with a timeout and an abort signal; never throws. @internal */
export async function runHandler(handler: MessageHandler, frame: Frame, from: PeerIdentity, timeoutMs: number, socket: Socket): Promise<HandlerOutcome> {
  // Aborts when the answer is no longer wanted, so a handler can stop its work (kill a child...).
  const controller = new AbortController();
  const onClose = (): void => controller.abort(new Error('the sender went away'));
  socket.once('close', onClose);
  const message = {
    argv: Array.isArray(frame['argv']) ? Object.freeze((frame['argv'] as string[]).slice()) : [],
    cwd: typeof frame['cwd'] === 'string' ? frame['cwd'] : '',
    data: frame['data'] ?? null,
    from,
    signal: controller.signal,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HandlerOutcome>((resolve) => {
    timer = setTimeout(() => {
      const reason = `handler did not answer within ${timeoutMs} ms`;
      controller.abort(new Error(reason));
      resolve({ error: 'handler_timeout', message: reason });
    }, timeoutMs);
    timer.unref();
  });
  const answer = (async (): Promise<HandlerOutcome> => {
    try {
      return { data: (await handler(message)) ?? null };
    } catch (error) {
      return { error: 'handler_error', message: error instanceof Error ? error.message : String(error) };
    }
  })();
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
    socket.off('close', onClose);
  }
}
