// Keys as etcd's concurrency.Mutex lays them out: `<prefix><name>/<lease id in hex>`. On the wire every key and
// value is base64.

/** UTF-8 text to the gateway's base64. @internal */
export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The gateway's base64 back to text (missing fields are empty). @internal */
export function unb64(value: unknown): string {
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';
}

/** The directory of one lock's contenders: `<prefix><name>/`. @internal */
export function lockDir(prefix: string, name: string): string {
  return `${prefix}${name}/`;
}

/** A contender's key, named by its lease as Go's `fmt.Sprintf("%x", leaseID)` names it. @internal */
export function contenderKey(dir: string, leaseId: string): string {
  return `${dir}${BigInt(leaseId).toString(16)}`;
}

/** `range_end` (base64) that covers every key starting with `prefix`; the whole key space for ''. @internal */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] ?? 0) < 0xff) {
      const end = bytes.subarray(0, i + 1);
      end[i] = (end[i] ?? 0) + 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

/**
 * The lock name of a contender key under `prefix`, or undefined when the key is not `<name>/<hex>`. Only direct
 * children count: `a/b/<hex>` belongs to lock `a/b`, not to lock `a`.
 * @internal
 */
export function lockNameOf(key: string, prefix: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const slash = key.lastIndexOf('/');
  if (slash < prefix.length + 1) return undefined;
  return /^[0-9a-f]{1,16}$/u.test(key.slice(slash + 1)) ? key.slice(prefix.length, slash) : undefined;
}

/** Whether `key` is a contender of the lock whose directory is `dir`: `<dir><lease hex>`, nothing deeper. @internal */
export function isContenderKey(key: string, dir: string): boolean {
  return key.startsWith(dir) && /^[0-9a-f]{1,16}$/u.test(key.slice(dir.length));
}
