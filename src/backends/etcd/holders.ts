import { buildHello, holderFromHello } from '../../holder/hello.js';
import type { Holder } from '../../holder/types.js';
import type { Frame } from '../../protocol/frames.js';
import { unb64 } from './keys.js';

const KIND = 'etcd';

/** A key as a range or a watch returns it, with the base64 decoded and the revisions as strings. @internal */
export interface Contender {
  readonly key: string;
  /** The fencing token: the revision that created the key. */
  readonly createRevision: string;
  readonly value: string;
  /** The lease id in decimal ('' when the key has none). */
  readonly lease: string;
}

/** Decodes the `kvs` of a range answer (missing when empty: the gateway leaves out zero values). @internal */
export function contendersOf(answer: Record<string, unknown>): Contender[] {
  const kvs = Array.isArray(answer['kvs']) ? (answer['kvs'] as Array<Record<string, unknown>>) : [];
  return kvs.map((kv) => ({
    key: unb64(kv['key']),
    createRevision: typeof kv['create_revision'] === 'string' ? kv['create_revision'] : '0',
    value: unb64(kv['value']),
    lease: typeof kv['lease'] === 'string' ? kv['lease'] : '',
  }));
}

/** What a holder writes in its key: the JSON of its hello (pid, host, argv, acquiredAt…). @internal */
export function holderValue(name: string, scope: string, slot: number | undefined, command: readonly string[]): string {
  return JSON.stringify(buildHello({ name, scope, slot, command, acquiredAt: Date.now(), backend: KIND, fence: undefined }));
}

/** The holder a contender key describes. A key without a hello (etcdctl lock, Go's Mutex) is reported as such. @internal */
export function holderOf(contender: Contender, name: string, scope: string, slot: number | undefined): Holder {
  let frame: Frame | undefined;
  try {
    const parsed: unknown = contender.value === '' ? undefined : JSON.parse(contender.value);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) frame = parsed as Frame;
  } catch {
    frame = undefined;
  }
  const fromHello = frame === undefined ? undefined : holderFromHello(frame, KIND);
  const fence = contender.createRevision;
  const lease = contender.lease === '' ? 'no lease' : `lease ${BigInt(contender.lease).toString(16)}`;
  if (fromHello !== undefined) {
    return {
      ...fromHello,
      name: fromHello.name === '' ? name : fromHello.name,
      ...(slot === undefined ? {} : { slot }),
      unverifiedReason: `pid, host and command are what the holder wrote in its key ${contender.key} (${lease})`,
      fence,
    };
  }
  const what = contender.value === '' ? 'its key has no value: etcdctl lock or another client of Go\'s concurrency.Mutex holds it' : 'its key holds a value that is not an onlyone hello';
  return {
    name,
    scope,
    ...(slot === undefined ? {} : { slot }),
    pid: 0,
    uid: -1,
    hostname: '',
    argv: [],
    cwd: '',
    acquiredAt: 0,
    heldForMs: 0,
    protocol: 0,
    verified: false,
    unverifiedReason: `${what} (${contender.key}, ${lease})`,
    backend: KIND,
    fence,
  };
}
