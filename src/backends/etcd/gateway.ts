import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { BackendError } from '../../errors.js';
import { post, readText } from './transport.js';
import type { EtcdTarget } from './url.js';

/** One JSON object as the gateway sends it: int64 fields arrive as strings, zero values are left out. @internal */
export type Json = Record<string, unknown>;

/** How long a unary request (grant, txn, range, revoke) may take before the next member is tried. */
const REQUEST_TIMEOUT_MS = 5000;
/** gRPC status codes the gateway puts in `code`. */
const UNAUTHENTICATED = 16;
/**
 * gRPC codes of a member that cannot answer now but may soon, or another member may: cancelled ("grpc: the client
 * connection is closing", while a member shuts down), deadline exceeded, resource exhausted ("too many requests"),
 * aborted, internal, unavailable ("no leader", "leader changed", "request timed out").
 */
const TRANSIENT = new Set([1, 4, 8, 10, 13, 14]);

/** etcd answered with an error: `code` is the gRPC status, `message` etcd's own text. @internal */
export class EtcdServerError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }

  /** Whether asking again (later, or another member) may succeed: see TRANSIENT. */
  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }
}

/** An error after which a wait should look again rather than give up: an unreachable cluster, a member in trouble. @internal */
export function isTransient(error: unknown): boolean {
  return error instanceof BackendError || (error instanceof EtcdServerError && error.transient);
}

/**
 * The v3 gRPC-JSON gateway over node:http(s) (see transport.ts): POSTs of JSON to `/v3/…` on one member after another.
 * Members that cannot be reached are skipped; the one that answered is tried first next time.
 * @internal
 */
export class EtcdGateway {
  readonly #target: EtcdTarget;
  #current = 0;
  #token: Promise<string> | undefined;

  constructor(target: EtcdTarget) {
    this.#target = target;
  }

  /** The members, for messages (never with credentials). */
  get where(): string {
    return this.#target.endpoints.join(',');
  }

  /**
   * One unary call. `timeoutMs` bounds each attempt on one member.
   * @throws EtcdServerError when etcd refuses the request; BackendError when no member answers.
   * Aborting `signal` rejects with its reason.
   */
  async call(path: string, body: Json, signal?: AbortSignal, timeoutMs: number = REQUEST_TIMEOUT_MS): Promise<Json> {
    return (await this.callWithClock(path, body, signal, timeoutMs)).answer;
  }

  /**
   * One unary call, with the answering member's clock: its HTTP `Date` header, in ms since the epoch (whole seconds;
   * undefined when the header is missing or unreadable). The `oncePer` windows are read on it, never on ours.
   */
  async callWithClock(path: string, body: Json, signal?: AbortSignal, timeoutMs: number = REQUEST_TIMEOUT_MS): Promise<{ answer: Json; serverNow: number | undefined }> {
    const sent = await this.#send(path, body, signal, timeoutMs, false);
    if (!('text' in sent)) return { answer: readOne(await readText(sent), path), serverNow: undefined };
    const serverNow = sent.date === undefined ? Number.NaN : Date.parse(sent.date);
    return { answer: readOne(sent.text, path), serverNow: Number.isFinite(serverNow) ? serverNow : undefined };
  }

  /**
   * A streaming call (watch): resolves once a member accepted it, with the messages it sends until `signal` aborts
   * or the stream ends. Each message is the `result` of one line.
   */
  async stream(path: string, body: Json, signal: AbortSignal, unref = false): Promise<AsyncIterable<Json>> {
    const answer = await this.#send(path, body, signal, REQUEST_TIMEOUT_MS, true, unref);
    return lines('text' in answer ? Readable.from([answer.text]) : answer, path);
  }

  /** The answer's text and `Date` header, or for a stream that was accepted, the response to read lines from. */
  async #send(path: string, body: Json, signal: AbortSignal | undefined, timeoutMs: number, streaming: boolean, unref = false): Promise<IncomingMessage | { text: string; date: string | undefined }> {
    const { endpoints } = this.#target;
    let lastError: unknown;
    for (let tried = 0; tried < endpoints.length; tried++) {
      const index = (this.#current + tried) % endpoints.length;
      const endpoint = endpoints[index] ?? '';
      signal?.throwIfAborted();
      for (let reauthenticated = false; ; reauthenticated = true) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        // A watch on a member cut off from the leader would never see another event: etcd ends it instead.
        if (streaming) headers['grpc-metadata-hasleader'] = 'true';
        // One controller per attempt: the caller's abort, or no answer in time (for a stream: no headers in time).
        const attempt = new AbortController();
        const timer = setTimeout(() => attempt.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        const onAbort = (): void => attempt.abort(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        let keep = false;
        try {
          const token = await this.#authToken(endpoint, attempt.signal, timeoutMs);
          if (token !== undefined) headers['authorization'] = token;
          const response = await post(`${endpoint}/v3/${path}`, headers, JSON.stringify(body), attempt.signal, unref);
          const ok = (response.statusCode ?? 0) < 300;
          if (streaming && ok) {
            clearTimeout(timer);
            this.#current = index;
            // From here on the caller's signal ends the stream, through `attempt`.
            keep = true;
            return response;
          }
          const text = await readText(response);
          const error = errorOf(text, response.statusCode ?? 0);
          // A token expires (etcd's simple tokens after 5 minutes of disuse): log in again, once.
          if (error?.code === UNAUTHENTICATED && token !== undefined && !reauthenticated) {
            this.#token = undefined;
            continue;
          }
          this.#current = index;
          if (error !== undefined) throw error;
          return { text, date: response.headers.date };
        } catch (error) {
          if (signal?.aborted === true) throw signal.reason;
          if ((error instanceof EtcdServerError && !error.transient) || error instanceof BackendError) throw error;
          lastError = error;
          break;
        } finally {
          clearTimeout(timer);
          if (!keep) signal?.removeEventListener('abort', onAbort);
        }
      }
    }
    if (lastError instanceof EtcdServerError) throw lastError;
    throw new BackendError(`Cannot reach etcd at ${this.where}: ${describe(lastError)}`, { cause: lastError });
  }

  /** The token of the URL's user, fetched once per gateway (again after etcd says it expired). */
  #authToken(endpoint: string, signal: AbortSignal, timeoutMs: number): Promise<string | undefined> {
    const { user, password } = this.#target;
    if (user === undefined) return Promise.resolve(undefined);
    this.#token ??= authenticate(endpoint, user, password ?? '', AbortSignal.timeout(timeoutMs)).catch((error: unknown) => {
      this.#token = undefined;
      throw error;
    });
    const token = this.#token;
    return Promise.race([token, new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    })]);
  }
}

async function authenticate(endpoint: string, name: string, password: string, signal: AbortSignal): Promise<string> {
  let text: string;
  let status: number;
  try {
    const response = await post(`${endpoint}/v3/auth/authenticate`, { 'content-type': 'application/json' }, JSON.stringify({ name, password }), signal);
    status = response.statusCode ?? 0;
    text = await readText(response);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new BackendError(`Cannot reach etcd at ${endpoint} to log in as ${JSON.stringify(name)}: ${describe(error)}`, { cause: error });
  }
  const error = errorOf(text, status);
  if (error !== undefined) throw new BackendError(`etcd at ${endpoint} refused the login of user ${JSON.stringify(name)}: ${error.message}`, { cause: error });
  const token = (parse(text) ?? {})['token'];
  if (typeof token !== 'string' || token === '') throw new BackendError(`etcd at ${endpoint} accepted user ${JSON.stringify(name)} but sent no token`);
  return token;
}

function parse(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The error in an answer: `{ error, code, message }`, possibly inside a stream's line, or a non-2xx status. */
function errorOf(text: string, status: number): EtcdServerError | undefined {
  const first = text.split('\n', 1)[0] ?? '';
  const json = parse(first);
  const error = (json?.['error'] !== undefined && typeof json['error'] === 'object' ? (json['error'] as Json) : json) ?? {};
  const message = error['message'] ?? error['error'];
  if (typeof message === 'string' && (typeof error['code'] === 'number' || status >= 400)) {
    return new EtcdServerError(typeof error['code'] === 'number' ? error['code'] : 2, message);
  }
  if (status >= 400) return new EtcdServerError(2, `HTTP ${status}: ${first.slice(0, 200)}`);
  return undefined;
}

function readOne(text: string, path: string): Json {
  const json = parse(text.split('\n', 1)[0] ?? '');
  if (json === undefined) throw new BackendError(`etcd sent an answer to /v3/${path} that is not JSON: ${text.slice(0, 200)}`);
  const result = json['result'];
  return typeof result === 'object' && result !== null ? (result as Json) : json;
}

async function* lines(response: Readable, path: string): AsyncIterable<Json> {
  let buffer = '';
  for await (const chunk of response) {
    buffer += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === '') continue;
      const json = parse(line);
      if (json === undefined) throw new BackendError(`etcd sent a line on /v3/${path} that is not JSON: ${line.slice(0, 200)}`);
      const error = json['error'];
      if (typeof error === 'object' && error !== null) {
        const { code, message } = error as Json;
        throw new EtcdServerError(typeof code === 'number' ? code : 2, typeof message === 'string' ? message : 'stream error');
      }
      const result = json['result'];
      yield typeof result === 'object' && result !== null ? (result as Json) : json;
    }
  }
}

/** The OS error, e.g. `connect ECONNREFUSED 127.0.0.1:2379` (also under an AggregateError of several addresses). */
function describe(error: unknown): string {
  const outer = error as { cause?: unknown; errors?: unknown[] } | undefined;
  const inner = (outer?.errors?.[0] ?? (outer?.cause as { errors?: unknown[] } | undefined)?.errors?.[0] ?? outer?.cause) as { message?: unknown } | undefined;
  if (typeof inner?.message === 'string' && inner.message !== '') return inner.message;
  return error instanceof Error && error.message !== '' ? error.message : String(error);
}
