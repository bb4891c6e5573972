import { Agent, request as httpRequest, type IncomingMessage, type RequestOptions, type ClientRequest } from 'node:http';

// Kept-alive connections, one pool per protocol. An idle pooled socket is unref'd by the agent: a held lock does
// not keep the process alive, and a process that released its lock exits at once.
const httpAgent = new Agent({ keepAlive: true });
type Send = (url: string, options: RequestOptions) => ClientRequest;
/** node:https (and TLS with it) costs ~10 ms more to load than node:http: only `etcds://` loads it. */
let https: Promise<{ send: Send; agent: Agent }> | undefined;

function sender(secure: boolean): Promise<{ send: Send; agent: Agent }> | { send: Send; agent: Agent } {
  if (!secure) return { send: httpRequest, agent: httpAgent };
  https ??= import('node:https').then((module) => ({ send: module.request, agent: new module.Agent({ keepAlive: true }) }));
  return https;
}

/**
 * One POST of JSON with node:http(s): the gateway's transport. Built in, like `fetch`, but measured here on Node 20
 * at 12 ms for a first request and 2 ms for the next where `fetch` took 60 ms and 8-19 ms, and `fetch` held the
 * process ~100 ms past the last request (see docs/etcd.md). Resolves with the response once its headers arrived;
 * aborting `signal` destroys the request (and the response stream) and rejects with its reason. `unref`: the
 * connection does not keep the process alive.
 * @internal
 */
export async function post(url: string, headers: Record<string, string>, body: string, signal: AbortSignal, unref = false): Promise<IncomingMessage> {
  const { send, agent } = await sender(url.startsWith('https:'));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const request = send(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const onAbort = (): void => {
      request.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // A held lock's own watch must not keep the process alive (the agent refs a reused socket first, then this runs).
    if (unref) request.once('socket', (socket) => socket.unref());
    request.once('response', (response) => {
      response.once('close', () => signal.removeEventListener('abort', onAbort));
      resolve(response);
    });
    request.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    request.end(body);
  });
}

/** The whole body of a response as text. @internal */
export async function readText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}
