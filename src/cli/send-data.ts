import { readFile } from 'node:fs';
import { MessageTooLargeError } from '../errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/frames.js';
import { UsageError } from './parsed.js';

/** Where `send --json` takes its data from: the argument itself, stdin (`-`) or a file (`@PATH`). @internal */
export type SendDataSource = { readonly from: 'argument'; readonly json: string } | { readonly from: 'stdin' } | { readonly from: 'file'; readonly path: string };

/** `--json DATA`, `--json -` or `--json @FILE`. @internal */
export function sendDataSource(json: string): SendDataSource {
  if (json === '-') return { from: 'stdin' };
  if (json.startsWith('@')) return { from: 'file', path: json.slice(1) };
  return { from: 'argument', json };
}

/**
 * Reads and parses the data. Data over the message cap is refused (exit 65) and is never held whole in
 * memory: stdin is counted to its end but only kept up to the cap.
 * @throws UsageError when the file cannot be read or the text is not JSON.
 * @throws MessageTooLargeError when the data alone is over the cap.
 * @internal
 */
export async function readSendData(source: SendDataSource): Promise<unknown> {
  let text: string;
  if (source.from === 'argument') {
    text = source.json;
  } else if (source.from === 'stdin') {
    const { kept, size } = await readCapped(process.stdin);
    if (size > DEFAULT_MAX_MESSAGE_BYTES) throw new MessageTooLargeError('the --json data on stdin', size, DEFAULT_MAX_MESSAGE_BYTES);
    text = kept;
  } else {
    try {
      // The callback form: node:fs/promises would load readline and the fs watchers at every start of the CLI.
      text = await new Promise<string>((resolve, reject) => readFile(source.path, 'utf8', (error, data) => (error === null ? resolve(data) : reject(error))));
    } catch (error) {
      throw new UsageError(`--json @${source.path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'send');
    }
  }
  const size = Buffer.byteLength(text);
  if (size > DEFAULT_MAX_MESSAGE_BYTES) throw new MessageTooLargeError(`the --json data${source.from === 'file' ? ` in ${source.path}` : ''}`, size, DEFAULT_MAX_MESSAGE_BYTES);
  try {
    return JSON.parse(text);
  } catch (error) {
    const where = source.from === 'argument' ? '' : source.from === 'stdin' ? ' (stdin)' : ` (${source.path})`;
    throw new UsageError(`--json${where}: ${(error as Error).message}`, 'send');
  }
}

async function readCapped(stream: NodeJS.ReadableStream): Promise<{ kept: string; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size <= DEFAULT_MAX_MESSAGE_BYTES) chunks.push(buffer);
  }
  return { kept: Buffer.concat(chunks).toString('utf8'), size };
}
