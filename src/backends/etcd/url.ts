import { InvalidOptionError } from '../../errors.js';

/** Where the cluster is and who we are on it. @internal */
export interface EtcdTarget {
  /** Base URLs of the members, `http://host:port` or `https://host:port`, tried in order. */
  readonly endpoints: readonly string[];
  readonly user: string | undefined;
  /** Never printed: error messages name `endpoints` and `user` only. */
  readonly password: string | undefined;
}

const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';

/**
 * Reads `etcd://[user[:password]@]host[:port][,host2[:port]…]` (`etcds://` for TLS). Without a URL: etcdctl's
 * `ETCDCTL_ENDPOINTS`, else 127.0.0.1:2379. Credentials missing from the URL come from etcdctl's `ETCDCTL_USER`
 * (`user:password`, or `user` with `ETCDCTL_PASSWORD`).
 * @throws InvalidOptionError for a malformed URL; the message never contains the password.
 * @internal
 */
export function parseEtcdUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): EtcdTarget {
  const fromEnv = splitUser(env['ETCDCTL_USER'], env['ETCDCTL_PASSWORD']);
  if (url === undefined) {
    const endpoints = (env['ETCDCTL_ENDPOINTS'] ?? DEFAULT_ENDPOINT).split(',').map((e) => e.trim()).filter(Boolean).map((e) => endpoint(/^[a-z]+:\/\//iu.test(e) ? e : `http://${e}`, e));
    return { endpoints, ...fromEnv };
  }
  const match = /^(etcds?):\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/iu.exec(url);
  if (match === null) throw new InvalidOptionError(`The \`url\` option must look like etcd://host:2379[,host2:2379] or etcds://user@host:2379, got ${redact(url)}`);
  const secure = (match[1] ?? '').toLowerCase() === 'etcds';
  const hosts = (match[3] ?? '').split(',');
  const endpoints = hosts.map((host) => endpoint(`${secure ? 'https' : 'http'}://${host.includes(':') && !host.endsWith(']') ? host : `${host}:2379`}`, redact(url)));
  const userInfo = match[2];
  if (userInfo === undefined) return { endpoints, ...fromEnv };
  const colon = userInfo.indexOf(':');
  const user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), url);
  const password = colon === -1 ? fromEnv.password : decode(userInfo.slice(colon + 1), url);
  return { endpoints, user, password };
}

/** The URL with its password replaced by `***`, for messages. @internal */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/iu, '$1:***@');
}

function endpoint(candidate: string, shown: string): string {
  let parsed: URL;
  try {
    parsed = new URL(candidate);
  } catch (error) {
    throw new InvalidOptionError(`The etcd endpoint in ${shown} is not a valid host:port`, { cause: error });
  }
  if (parsed.hostname === '' || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.pathname !== '/' || parsed.username !== '' || parsed.search !== '') {
    throw new InvalidOptionError(`The etcd endpoint in ${shown} is not a valid host:port`);
  }
  return `${parsed.protocol}//${parsed.host}`;
}

function splitUser(user: string | undefined, password: string | undefined): { user: string | undefined; password: string | undefined } {
  if (user === undefined || user === '') return { user: undefined, password: undefined };
  const colon = user.indexOf(':');
  if (colon === -1) return { user, password };
  return { user: user.slice(0, colon), password: user.slice(colon + 1) };
}

function decode(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch (error) {
    throw new InvalidOptionError(`The user or password in ${redact(url)} is not valid percent-encoding`, { cause: error });
  }
}
