// `oncePer` on etcd: the last run of each lock is one key, its value the record as JSON. The keys live beside the
// lock prefix, never under it: with the default prefix `onlyone/v1/`, lock NAME's record is `onlyone/v1.runs/NAME`.
// etcd's Mutex (and `etcdctl lock`) queues on every key under a lock's directory, even deeper ones, and a key without
// a lease there would block it for ever; `list` does not see them either.
// Times are the answering member's clock (its HTTP `Date`, whole seconds), never this host's.
import { BackendError } from '../../errors.js';
import { parseRecord, type RunExit, type RunRecord } from '../../once-per/record.js';
import type { BackendLock, RunLedger } from '../types.js';
import type { EtcdGateway, Json } from './gateway.js';
import { b64, unb64 } from './keys.js';

/** The key of `name`'s run record for the lock prefix `prefix`. @internal */
export function runKey(prefix: string, name: string): string {
  return `${prefix.endsWith('/') ? prefix.slice(0, -1) : prefix}.runs/${name}`;
}

/** The record stored at `key` (and the revision that last wrote it), with the member's clock; undefined if none. */
async function readRun(gateway: EtcdGateway, key: string): Promise<{ now: number | undefined; last: RunRecord | undefined; revision: string | undefined }> {
  const { answer, serverNow } = await gateway.callWithClock('kv/range', { key: b64(key) });
  const kv = (Array.isArray(answer['kvs']) ? (answer['kvs'][0] as Json | undefined) : undefined) ?? undefined;
  if (kv === undefined) return { now: serverNow, last: undefined, revision: undefined };
  let value: unknown;
  try {
    value = JSON.parse(unb64(kv['value']));
  } catch {
    value = undefined;
  }
  const last = parseRecord(value);
  // A damaged record must not read as "never ran": that would run the job twice in one window.
  if (last === undefined) throw new BackendError(`The run record ${key} in etcd is not a record onlyone wrote; delete it to start again`);
  return { now: serverNow, last, revision: typeof kv['mod_revision'] === 'string' ? kv['mod_revision'] : undefined };
}

function clockOf(now: number | undefined, gateway: EtcdGateway): number {
  if (now === undefined) throw new BackendError(`etcd at ${gateway.where} sent no Date header: --once-per reads its windows on the server's clock`);
  return now;
}

/** The last run recorded for `name`, or undefined. @internal */
export async function lastRun(gateway: EtcdGateway, prefix: string, name: string): Promise<RunRecord | undefined> {
  return (await readRun(gateway, runKey(prefix, name))).last;
}

/**
 * The run records of a held lock. A run is recorded only while our lock key still exists with its create revision (a
 * txn compares it), and its end only over the start we wrote (the key's mod revision), so a holder that lost its lock
 * never overwrites the record of the run that followed.
 * @internal
 */
export function etcdLedger(gateway: EtcdGateway, prefix: string, name: string, lock: BackendLock): RunLedger {
  const key = runKey(prefix, name);
  let started: string | undefined;
  const put = async (record: RunRecord, compare: Json): Promise<string> => {
    const answer = await gateway.call('kv/txn', { compare: [compare], success: [{ request_put: { key: b64(key), value: b64(JSON.stringify(record)) } }] });
    const header = answer['header'] as Json | undefined;
    if (answer['succeeded'] !== true) throw new BackendError(`Cannot record the run of ${JSON.stringify(name)} in etcd: the lock was lost first`);
    return typeof header?.['revision'] === 'string' ? header['revision'] : '0';
  };
  return {
    async read() {
      const { now, last } = await readRun(gateway, key);
      return { now: clockOf(now, gateway), last };
    },
    async start(record) {
      started = await put(record, { key: b64(lock.address), target: 'CREATE', create_revision: lock.fence ?? '0' });
    },
    async end(record, exit: RunExit) {
      const { now } = await readRun(gateway, key);
      const ended: RunRecord = { ...record, endedAt: clockOf(now, gateway), exit };
      await put(ended, { key: b64(key), target: 'MOD', mod_revision: started ?? '0' });
      return ended;
    },
  };
}
