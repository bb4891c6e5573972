// The etcd backend against private etcd members (test/etcd-server.mjs), with real processes and the real etcdctl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { acquire, list, status, tryAcquire, LockBusyError } from '../dist/index.js';
import { delay, exitOf, fixture, jsonLines, lockName } from './helpers.mjs';
import { etcdUnavailable, startEtcd } from './etcd-server.mjs';

const unavailable = etcdUnavailable();
/** The lease TTL of tests that wait for one to run out: the shortest etcd grants with these raft timings. */
const TTL = 2;
let server;
const opts = (extra = {}) => ({ backend: 'etcd', url: server.url, ...extra });

/** Spawns test/fixtures/etcd-actor.mjs; killed when the test ends. */
function actor(t, name, options, mode = 'hold', ...rest) {
  const child = spawn(process.execPath, [fixture('etcd-actor.mjs'), name, JSON.stringify(options), mode, ...rest], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
  return { child, events: jsonLines(child.stdout), pid: child.pid };
}

// Generous: on a loaded machine a node process may take seconds to start. Timings are measured between events.
async function nextOf(events, kind, timeoutMs = 60_000) {
  for (;;) {
    const event = await events.next(timeoutMs);
    if (event.event === kind) return event;
    if (event.event === 'error') throw new Error(`actor failed: ${event.message}`);
  }
}

/** The keys queued for `name` (holder first): what etcdctl sees under `<prefix><name>/`. */
function keysOf(etcd, name, prefix = 'onlyone/v1/') {
  return etcd.etcdctl('get', '--prefix', '--keys-only', '--order', 'ASCEND', '--sort-by', 'CREATE', `${prefix}${name}/`).split('\n').filter(Boolean);
}

async function until(predicate, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(20);
  }
}

describe('etcd backend', { skip: unavailable, timeout: 300_000 }, () => {
  before(async () => {
    server = await startEtcd();
  });
  after(() => server?.stop());

  test('the trio: A holds, B is refused naming A\'s pid and host, A releases, C gets it; status and list name the holder', async () => {
    const name = lockName('trio');
    const a = await acquire(name, opts());
    assert.equal(a.backend, 'etcd');
    assert.match(a.address, new RegExp(`^onlyone/v1/${name}/[0-9a-f]+$`, 'u'));
    await assert.rejects(acquire(name, opts()), (error) => {
      assert.ok(error instanceof LockBusyError);
      assert.equal(error.code, 'ERR_LOCK_BUSY');
      assert.equal(error.holder.pid, process.pid);
      assert.equal(error.holder.hostname, hostname());
      assert.equal(error.holder.fence, a.fence);
      assert.match(error.message, new RegExp(`by pid ${process.pid} on ${hostname()}`, 'u'));
      return true;
    });
    assert.equal(await tryAcquire(name, opts()), undefined);
    // A refused contender leaves nothing behind in the queue.
    assert.deepEqual(keysOf(server, name), [a.address]);
    const holder = await status(name, opts());
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.backend, 'etcd');
    assert.equal(holder.verified, false);
    assert.ok((await list(opts())).some((h) => h.name === name && h.pid === process.pid));
    await a.release();
    await a.release();
    assert.equal(await status(name, opts()), undefined);
    const c = await acquire(name, opts());
    assert.ok(BigInt(c.fence) > BigInt(a.fence));
    await c.release();
    assert.deepEqual(keysOf(server, name), []);
  });

  test('a wait that times out or is aborted ends with LockTimeoutError or the abort reason, and leaves its queue', async () => {
    const name = lockName('timeout');
    const lock = await acquire(name, opts());
    await assert.rejects(acquire(name, opts({ wait: true, timeoutMs: 300 })), (error) => {
      assert.equal(error.code, 'ERR_LOCK_TIMEOUT');
      assert.equal(error.holder?.pid, process.pid);
      return true;
    });
    const controller = new AbortController();
    const waiting = acquire(name, opts({ wait: true, signal: controller.signal }));
    await until(() => keysOf(server, name).length === 2, 'the waiter is queued');
    controller.abort(new Error('no longer needed'));
    await assert.rejects(waiting, /no longer needed/u);
    assert.deepEqual(keysOf(server, name), [lock.address]);
    await lock.release();
  });

  test('options that need a connection to the holder are refused by name, and nothing is left queued', async () => {
    const name = lockName('refused');
    await assert.rejects(acquire(name, opts({ replace: true })), { code: 'ERR_INVALID_OPTION', message: /`replace` option is not supported by the etcd backend/u });
    await assert.rejects(acquire(name, opts({ onMessage: () => 1 })), { code: 'ERR_INVALID_OPTION', message: /`onMessage` option/u });
    await assert.rejects(acquire(name, opts({ ttlSeconds: 0 })), { code: 'ERR_INVALID_OPTION', message: /`ttlSeconds`/u });
    await assert.rejects(acquire(name, opts({ url: 'etcd://a@b@c' })), { code: 'ERR_INVALID_OPTION' });
    assert.deepEqual(keysOf(server, name), []);
  });

  test('with prefix "", etcdctl lock and onlyone exclude each other both ways, and share one queue', async (t) => {
    const name = lockName('interop');
    // etcdctl holds: onlyone is refused, the holder reported as etcdctl's empty key.
    const ctl = server.spawnEtcdctl(['lock', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => ctl.kill('SIGKILL'));
    const ctlKey = await new Promise((resolve) => ctl.stdout.setEncoding('utf8').once('data', (line) => resolve(line.trim())));
    assert.match(ctlKey, new RegExp(`^${name}/[0-9a-f]+$`, 'u'));
    await assert.rejects(acquire(name, opts({ prefix: '' })), (error) => {
      assert.equal(error.code, 'ERR_LOCK_BUSY');
      assert.equal(error.holder.pid, 0);
      assert.match(error.holder.unverifiedReason, /etcdctl lock/u);
      return true;
    });
    // An onlyone waiter queues behind etcdctl and gets the lock when etcdctl lets go.
    const waiter = actor(t, name, opts({ prefix: '' }), 'turn', '200');
    await until(() => keysOf(server, name, '').length === 2, 'the waiter is queued');
    const ctlGone = process.hrtime.bigint();
    ctl.kill('SIGINT');
    const got = await nextOf(waiter.events, 'acquired');
    assert.ok(BigInt(got.mono) > ctlGone);
    await nextOf(waiter.events, 'released');
    // onlyone holds: etcdctl lock waits until onlyone releases.
    const lock = await acquire(name, opts({ prefix: '' }));
    const ctl2 = server.spawnEtcdctl(['lock', name, '--', 'sh', '-c', 'echo got'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => ctl2.kill('SIGKILL'));
    let output = '';
    ctl2.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    await until(() => keysOf(server, name, '').length === 2, 'etcdctl is queued');
    await delay(300);
    assert.equal(output, '', 'etcdctl lock ran its command while onlyone held the lock');
    await lock.release();
    assert.equal((await exitOf(ctl2)).code, 0);
    assert.equal(output, 'got\n');
  });

  test('a --once-per record lives beside the prefix: etcdctl lock on a parent name is not blocked by it, and list does not show it', async () => {
    const name = `${lockName('runs')}/child`;
    const lock = await acquire(name, opts({ oncePer: 86_400_000 }));
    assert.match(lock.run.fence, /^\d+$/u);
    await lock.release();
    assert.deepEqual(server.etcdctl('get', '--prefix', '--keys-only', `onlyone/v1/${name.split('/')[0]}/`).split('\n').filter(Boolean), [], 'nothing left under the lock prefix');
    assert.equal(JSON.parse(server.etcdctl('get', '--print-value-only', `onlyone/v1.runs/${name}`)).name, name);
    // Go's Mutex queues on every key under `<prefix><parent>/`: a record there would block this for ever.
    assert.match(server.etcdctl('lock', '--ttl', '2', `onlyone/v1/${name.split('/')[0]}`, 'echo', 'parent-locked'), /parent-locked/u);
    assert.equal((await list(opts())).some((holder) => holder.name.includes('runs')), false);
  });

  test('SIGKILL of the holder: a waiter takes over within TTL + 1 s', async (t) => {
    const name = lockName('kill');
    const holder = actor(t, name, opts({ ttlSeconds: TTL }));
    await nextOf(holder.events, 'acquired');
    const waiter = actor(t, name, opts({ ttlSeconds: TTL }), 'turn');
    await until(() => keysOf(server, name).length === 2, 'the waiter is queued');
    const killedAt = process.hrtime.bigint();
    holder.child.kill('SIGKILL');
    const got = await nextOf(waiter.events, 'acquired');
    const tookMs = Number(BigInt(got.mono) - killedAt) / 1e6;
    assert.ok(tookMs < TTL * 1000 + 1000, `takeover took ${tookMs} ms`);
    t.diagnostic(`takeover ${tookMs.toFixed(0)} ms after SIGKILL (TTL ${TTL} s)`);
  });

  test('10 waiters get the lock in the order they queued (FIFO)', async (t) => {
    const name = lockName('fifo');
    const first = await acquire(name, opts());
    const waiters = [];
    for (let i = 0; i < 10; i++) {
      waiters.push(actor(t, name, opts(), 'turn', '10'));
      await until(() => keysOf(server, name).length === i + 2, `waiter ${i} is queued`);
    }
    await first.release();
    const turns = await Promise.all(waiters.map(async (w, i) => ({ i, at: BigInt((await nextOf(w.events, 'acquired')).mono), fence: (await nextOf(w.events, 'released'), undefined) })));
    const order = turns.slice().sort((a, b) => (a.at < b.at ? -1 : 1)).map((turn) => turn.i);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('a waiter whose own lease ends stops waiting with LockLostError', async (t) => {
    const name = lockName('waiterlost');
    const lock = await acquire(name, opts());
    t.after(() => lock.release());
    const waiter = actor(t, name, opts(), 'turn');
    await until(() => keysOf(server, name).length === 2, 'the waiter is queued');
    const lease = keysOf(server, name)[1].split('/').at(-1);
    server.etcdctl('lease', 'revoke', lease);
    const error = await nextOf(waiter.events, 'error');
    assert.equal(error.code, 'ERR_LOCK_LOST');
    assert.match(error.message, /was deleted while it waited/u);
    assert.equal((await exitOf(waiter.child)).code, 3);
  });

  test('a holder whose lease ends: lock.signal aborts with LockLostError', async (t) => {
    const name = lockName('holderlost');
    const holder = actor(t, name, opts({ ttlSeconds: 3 }));
    const { address } = await nextOf(holder.events, 'acquired');
    server.etcdctl('lease', 'revoke', address.split('/').at(-1));
    const lost = await nextOf(holder.events, 'lost');
    assert.equal(lost.code, 'ERR_LOCK_LOST');
    // The watch on its own key usually sees the deletion before the next keepalive learns the lease is gone.
    assert.match(lost.message, /was deleted while it held the lock|has expired|no longer knows/u);
  });

  test('a keepalive answered without a TTL (the gateway\'s answer for a dead lease) ends the lease', async () => {
    // The lease alone, without a key to watch: only the keepalive can tell.
    const { EtcdGateway } = await import('../dist/backends/etcd/gateway.js');
    const { EtcdLease } = await import('../dist/backends/etcd/lease.js');
    const { parseEtcdUrl } = await import('../dist/backends/etcd/url.js');
    const lease = await EtcdLease.grant(new EtcdGateway(parseEtcdUrl(server.url)), lockName('keepalive'), 3, undefined);
    lease.setRef(true);
    server.etcdctl('lease', 'revoke', BigInt(lease.id).toString(16));
    const reason = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the lease was not declared lost within 20 s')), 20_000);
      lease.lost.addEventListener('abort', () => { clearTimeout(timer); resolve(lease.lost.reason); }, { once: true });
    });
    assert.equal(reason.code, 'ERR_LOCK_LOST');
    assert.match(reason.message, /says its lease [0-9a-f]+ has expired/u);
  });

  test('fences strictly increase across holders and processes', async (t) => {
    const name = lockName('fence');
    const fences = [];
    for (let i = 0; i < 3; i++) {
      const lock = await acquire(name, opts());
      fences.push(BigInt(lock.fence));
      await lock.release();
      const other = actor(t, name, opts(), 'turn', '0');
      fences.push(BigInt((await nextOf(other.events, 'acquired')).fence));
      await exitOf(other.child);
    }
    for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1], `fence ${fences[i]} after ${fences[i - 1]}`);
  });

  test('slots: N holders at most; a waiter takes the first slot that frees', async (t) => {
    const name = lockName('slots');
    const a = await acquire(name, opts({ slots: 2 }));
    const b = await acquire(name, opts({ slots: 2 }));
    assert.deepEqual([a.slot, b.slot].sort(), [0, 1]);
    await assert.rejects(acquire(name, opts({ slots: 2 })), { code: 'ERR_LOCK_BUSY' });
    const waiter = actor(t, name, opts({ slots: 2 }), 'turn', '0');
    await until(() => keysOf(server, `${name}#1`).length === 2, 'the waiter is queued on slot 1');
    await b.release();
    const got = await nextOf(waiter.events, 'acquired');
    assert.equal(got.slot, b.slot);
    await nextOf(waiter.events, 'released');
    // Its key in the other slot's queue went as soon as it got one.
    assert.equal(keysOf(server, `${name}#${a.slot}`).length, 1);
    await a.release();
  });

  test('an etcd restart while held: the lock stays held, waiters stay out, then it passes on', async (t) => {
    const name = lockName('restart');
    const lock = await acquire(name, opts({ ttlSeconds: 10 }));
    const waiter = actor(t, name, opts(), 'turn', '0');
    await until(() => keysOf(server, name).length === 2, 'the waiter is queued');
    await server.restart();
    // A keepalive after the restart proves the lease survived it.
    await delay(4000);
    assert.equal(lock.held, true);
    const releasedAt = process.hrtime.bigint();
    await lock.release();
    // The waiter's first event: it got the lock only after the release, with a larger fence than before the restart.
    const got = await nextOf(waiter.events, 'acquired');
    assert.ok(BigInt(got.mono) > releasedAt);
    assert.ok(BigInt(got.fence) > BigInt(lock.fence));
  });
});

describe('etcd backend on a 3-member cluster', { skip: unavailable, timeout: 180_000 }, () => {
  let cluster;
  before(async () => {
    cluster = await startEtcd({ members: 3 });
  });
  after(() => cluster?.stop());

  test('the leader killed: the holder keeps its lock through the others, and a waiter still gets it on release', async (t) => {
    const name = lockName('member');
    const options = { backend: 'etcd', url: cluster.url, ttlSeconds: TTL };
    const lock = await acquire(name, options);
    const waiter = actor(t, name, options, 'turn', '0');
    await until(() => keysOf(cluster, name).length === 2, 'the waiter is queued');
    // The leader: its death forces an election (and resets every lease's TTL), the hardest member to lose.
    const members = JSON.parse(cluster.etcdctl('endpoint', 'status', '-w', 'json'));
    const leader = members.findIndex((m) => m.Status.leader === m.Status.header.member_id);
    assert.ok(leader >= 0, 'no leader found');
    await cluster.killMember(leader);
    // Several TTLs: only keepalives answered by the other members keep the lock.
    await delay(TTL * 2000);
    assert.equal(lock.held, true);
    const releasedAt = process.hrtime.bigint();
    await lock.release();
    const got = await nextOf(waiter.events, 'acquired');
    assert.ok(BigInt(got.mono) > releasedAt);
    t.diagnostic(`handoff ${(Number(BigInt(got.mono) - releasedAt) / 1e6).toFixed(0)} ms after release with a member down`);
  });
});
