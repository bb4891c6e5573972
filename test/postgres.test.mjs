// The postgres backend against a private PostgreSQL cluster (test/postgres-server.mjs), with real processes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { acquire, list, status, tryAcquire, LockBusyError } from '../dist/index.js';
import { delay, exitOf, fixture, jsonLines, lockName } from './helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const unavailable = postgresUnavailable();
let server;
const opts = (extra = {}) => ({ backend: 'postgres', url: server.url, ...extra });

/** Spawns test/fixtures/pg-holder.mjs; killed when the test ends. */
function pgHolder(t, name, options, mode = 'hold', ...rest) {
  const child = spawn(process.execPath, [fixture('pg-holder.mjs'), name, JSON.stringify(options), mode, ...rest], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
  return { child, events: jsonLines(child.stdout), pid: child.pid };
}

async function nextOf(events, kind, timeoutMs = 20_000) {
  for (;;) {
    const event = await events.next(timeoutMs);
    if (event.event === kind) return event;
    if (event.event === 'error') throw new Error(`holder failed: ${event.message}`);
  }
}

/** Advisory locks (granted or waiting) on `key` in pg_locks, seen from a separate session. */
async function locksOn(key) {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const unsigned = BigInt.asUintN(64, BigInt(key));
    const { rows } = await client.query(
      "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND classid = $1::oid AND objid = $2::oid",
      [String(unsigned >> 32n), String(unsigned & 0xffffffffn)],
    );
    return rows;
  } finally {
    await client.end();
  }
}

const keyOf = (lock) => lock.address.slice('pg-advisory:'.length);

describe('postgres backend', { skip: unavailable, timeout: 180_000 }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  test('the key is the documented hash: first 8 bytes of SHA-256 of prefix + scope + "/" + name, signed', async () => {
    const name = lockName('key');
    const lock = await acquire(name, opts({ scope: 'system' }));
    try {
      const expected = createHash('sha256').update(`onlyone/v1/sys/${name}`).digest().readBigInt64BE(0);
      assert.equal(keyOf(lock), String(expected));
      // The test vector printed in docs/postgres.md.
      assert.equal(createHash('sha256').update('onlyone/v1/sys/nightly-report').digest().readBigInt64BE(0), -3_730_415_642_441_739_227n);
      const user = await acquire(name, opts());
      const role = createHash('sha256').update(`onlyone/v1/role:onlyone/${name}`).digest().readBigInt64BE(0);
      assert.equal(keyOf(user), String(role));
      await user.release();
    } finally {
      await lock.release();
    }
  });

  test('trio: A holds, B is refused with host and pid in the message, A releases, C gets it', async (t) => {
    const name = lockName('trio');
    const a = pgHolder(t, name, opts());
    const acquired = await nextOf(a.events, 'acquired');
    assert.match(acquired.fence, /^\d+$/u);
    const error = await acquire(name, opts()).catch((e) => e);
    assert.ok(error instanceof LockBusyError, String(error));
    assert.equal(error.code, 'ERR_LOCK_BUSY');
    assert.equal(error.holder.pid, a.pid);
    assert.equal(error.holder.hostname, hostname());
    assert.equal(error.holder.fence, acquired.fence);
    assert.match(error.message, new RegExp(`pid ${a.pid} on ${hostname()}`, 'u'));
    assert.equal((await status(name, opts())).pid, a.pid);
    assert.ok((await list(opts())).some((h) => h.name === name && h.pid === a.pid));
    assert.equal(await tryAcquire(name, opts()), undefined);
    a.child.stdin.end();
    await nextOf(a.events, 'released');
    const c = await tryAcquire(name, opts());
    assert.ok(c !== undefined);
    assert.ok(BigInt(c.fence) > BigInt(acquired.fence));
    await c.release();
    assert.equal(await status(name, opts()), undefined);
    assert.deepEqual(await locksOn(keyOf(c)), []);
  });

  test('SIGKILL of the holder: a waiting process acquires within 200 ms', async (t) => {
    const name = lockName('kill');
    const holder = pgHolder(t, name, opts());
    const held = await nextOf(holder.events, 'acquired');
    const waiter = pgHolder(t, name, opts(), 'wait');
    // The waiter is queued in pg_advisory_lock once pg_locks shows its ungranted request.
    for (let i = 0; i < 400 && (await locksOn(held.address.slice(12))).length < 2; i++) await delay(25);
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    const got = await nextOf(waiter.events, 'acquired');
    const tookMs = got.at - killedAt;
    t.diagnostic(`takeover ${tookMs} ms after SIGKILL`);
    assert.ok(tookMs < 200, `took ${tookMs} ms`);
    assert.ok(BigInt(got.fence) > BigInt(held.fence));
    waiter.child.stdin.end();
    await nextOf(waiter.events, 'released');
  });

  test('the row of a SIGKILLed holder stays in onlyone_holders but is never reported', async (t) => {
    const name = lockName('stale');
    const holder = pgHolder(t, name, opts());
    const held = await nextOf(holder.events, 'acquired');
    holder.child.kill('SIGKILL');
    await exitOf(holder.child);
    const key = held.address.slice('pg-advisory:'.length);
    for (let i = 0; i < 400 && (await locksOn(key)).length > 0; i++) await delay(25);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const { rows } = await admin.query('SELECT pid FROM onlyone_holders WHERE key = $1', [key]);
    await admin.end();
    assert.deepEqual(rows, [{ pid: holder.pid }]);
    assert.equal(await status(name, opts()), undefined);
    assert.ok(!(await list(opts())).some((h) => h.name === name));
  });

  for (const how of ['startup options', 'SET after connecting']) test(`SIGSTOP of the holder: the lock is lost within idle_session_timeout, and on SIGCONT the holder stops before doing more work (${how})`, async (t) => {
    const name = lockName('stop');
    const idleSessionTimeoutMs = 2000;
    // A URL that sets its own startup `options` makes the backend configure the session with SET instead.
    const url = how === 'startup options' ? server.url : `${server.url}?options=${encodeURIComponent('-c search_path=public')}`;
    const holder = pgHolder(t, name, opts({ url, idleSessionTimeoutMs, heartbeatMs: 250 }), 'work');
    await nextOf(holder.events, 'acquired');
    await nextOf(holder.events, 'work');
    const waiter = pgHolder(t, name, opts(), 'wait');
    const works = [];
    const stoppedAt = Date.now();
    holder.child.kill('SIGSTOP');
    const got = await nextOf(waiter.events, 'acquired');
    const tookMs = got.at - stoppedAt;
    t.diagnostic(`takeover ${tookMs} ms after SIGSTOP (idle_session_timeout ${idleSessionTimeoutMs} ms)`);
    assert.ok(tookMs < idleSessionTimeoutMs + 3000, `took ${tookMs} ms`);
    holder.child.kill('SIGCONT');
    let lost;
    for (;;) {
      const event = await holder.events.next(20_000);
      if (event.event === 'work') works.push(event);
      else if (event.event === 'lost') { lost = event; break; }
    }
    assert.equal(lost.code, 'ERR_LOCK_LOST');
    // Every unit of work happened before the waiter took over: the holder never worked without the lock.
    for (const work of works) assert.ok(work.at < got.at, `work at ${work.at} after takeover at ${got.at}`);
    assert.equal((await exitOf(holder.child)).code, 4);
    waiter.child.stdin.end();
    await nextOf(waiter.events, 'released');
  });

  test('a server that stops answering (its backend is SIGSTOPped): missed heartbeats lose the lock, and release() does not hang', async (t) => {
    const idleSessionTimeoutMs = 1000;
    const lock = await acquire(lockName('hung'), opts({ idleSessionTimeoutMs, heartbeatMs: 200, ref: true }));
    const [{ pid: backendPid }] = await locksOn(keyOf(lock));
    process.kill(backendPid, 'SIGSTOP');
    t.after(() => process.kill(backendPid, 'SIGCONT'));
    const stoppedAt = Date.now();
    const reason = await new Promise((resolve) => lock.signal.addEventListener('abort', () => resolve(lock.signal.reason), { once: true }));
    assert.equal(reason.code, 'ERR_LOCK_LOST');
    assert.match(reason.message, /no heartbeat was answered/u);
    assert.ok(Date.now() - stoppedAt < idleSessionTimeoutMs + 2000, `lost after ${Date.now() - stoppedAt} ms`);
    await lock.release();
    // A second lock on a hung backend: release() gives up on the unlock and closes the connection.
    const other = await acquire(lockName('hung2'), opts({ idleSessionTimeoutMs, heartbeatMs: 200, ref: true }));
    const [{ pid: otherPid }] = await locksOn(keyOf(other));
    process.kill(otherPid, 'SIGSTOP');
    t.after(() => process.kill(otherPid, 'SIGCONT'));
    await other.release();
    assert.equal(other.held, false);
  });

  test('fencing tokens strictly increase across holders, in one process and across processes', async (t) => {
    const name = lockName('fence');
    const fences = [];
    for (let i = 0; i < 3; i++) {
      const p = pgHolder(t, name, opts(), 'cycle', '3');
      for (let j = 0; j < 3; j++) fences.push(BigInt((await nextOf(p.events, 'acquired')).fence));
      assert.equal((await exitOf(p.child)).code, 0);
      const lock = await acquire(name, opts());
      fences.push(BigInt(lock.fence));
      await lock.release();
    }
    for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1], `${fences[i]} after ${fences[i - 1]}`);
  });

  test('10 processes race on one name: exactly one winner each round', async (t) => {
    const name = lockName('race');
    const racers = Array.from({ length: 10 }, () => pgHolder(t, name, opts(), 'race'));
    await Promise.all(racers.map((r) => nextOf(r.events, 'ready')));
    let lastFence = 0n;
    for (let round = 0; round < 5; round++) {
      for (const r of racers) r.child.stdin.write('go\n');
      const results = await Promise.all(racers.map((r) => nextOf(r.events, 'round')));
      const winners = results.filter((r) => r.won);
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      assert.ok(BigInt(winners[0].fence) > lastFence);
      lastFence = BigInt(winners[0].fence);
      for (const r of racers) r.child.stdin.write('release\n');
      await Promise.all(racers.map((r) => nextOf(r.events, 'released')));
    }
    for (const r of racers) r.child.stdin.end();
  });

  test('waiting: a timeout is LockTimeoutError naming the holder; an abort leaves no lock or queued request behind', async () => {
    const name = lockName('wait');
    const holder = await acquire(name, opts());
    try {
      const timedOut = await acquire(name, opts({ wait: true, timeoutMs: 300 })).catch((e) => e);
      assert.equal(timedOut.code, 'ERR_LOCK_TIMEOUT');
      assert.equal(timedOut.holder?.pid, process.pid);
      const controller = new AbortController();
      const waiting = acquire(name, opts({ wait: true, signal: controller.signal }));
      for (let i = 0; i < 400 && (await locksOn(keyOf(holder))).length < 2; i++) await delay(25);
      controller.abort(new Error('stop waiting'));
      await assert.rejects(waiting, /stop waiting/u);
      // The cancelled wait leaves the queue: only the holder's granted lock remains.
      let rows = await locksOn(keyOf(holder));
      for (let i = 0; i < 200 && rows.length > 1; i++) rows = (await delay(25), await locksOn(keyOf(holder)));
      assert.deepEqual(rows.map((r) => r.granted), [true]);
    } finally {
      await holder.release();
    }
    assert.deepEqual(await locksOn(keyOf(holder)), []);
  });

  test('lock.lease: renewed by heartbeats, ends a margin after the lock would be declared lost; none on abstract or after release', async () => {
    const lock = await acquire(lockName('lease'), opts({ idleSessionTimeoutMs: 1000, heartbeatMs: 100 }));
    const first = lock.lease;
    assert.ok(first.lostInMs > 0 && first.lostInMs <= 900, `lostInMs ${first.lostInMs}`);
    assert.equal(Math.round(first.expiresInMs - first.lostInMs), 100);
    assert.ok(Number.isInteger(first.fd) && first.fd > 2, `fd ${first.fd}`);
    // Longer than the whole lease: only heartbeats can have kept it alive.
    await delay(1500);
    assert.equal(lock.held, true);
    assert.ok(lock.lease.lostInMs > 600, `lostInMs ${lock.lease.lostInMs} after heartbeats`);
    await lock.release();
    assert.equal(lock.lease, undefined);
    const local = await acquire(lockName('lease-abstract'));
    assert.equal(local.lease, undefined);
    await local.release();
  });

  test('a held postgres lock does not keep the event loop alive', async (t) => {
    const p = pgHolder(t, lockName('unref'), opts(), 'unref');
    await nextOf(p.events, 'acquired');
    assert.deepEqual(await exitOf(p.child), { code: 0, signal: null });
  });

  test('options the backend cannot honour are refused, not ignored', async () => {
    for (const extra of [{ slots: 2 }, { replace: true }]) {
      const error = await acquire(lockName('opt'), opts(extra)).catch((e) => e);
      assert.equal(error.code, 'ERR_INVALID_OPTION', String(error));
      assert.match(error.message, /not supported by the postgres backend/u);
    }
    for (const bad of [{ heartbeatMs: 6000 }, { idleSessionTimeoutMs: 10 }, { url: '' }]) {
      const error = await acquire(lockName('opt'), opts(bad)).catch((e) => e);
      assert.equal(error.code, 'ERR_INVALID_OPTION', String(error));
      assert.match(error.message, new RegExp(Object.keys(bad)[0], 'u'));
    }
  });

  test('an unreachable server or a missing pg is ERR_BACKEND with the cause', async () => {
    const error = await acquire(lockName('down'), { backend: 'postgres', url: 'postgres://nobody@127.0.0.1:1/x' }).catch((e) => e);
    assert.equal(error.code, 'ERR_BACKEND');
    assert.match(String(error.cause?.code ?? error.cause?.message), /ECONNREFUSED/u);
    const child = spawn(process.execPath, ['--import', fixture('no-pg.mjs'), '--input-type=module', '-e',
      `import { acquire } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
       acquire('x', { backend: 'postgres', url: ${JSON.stringify(server.url)} }).catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const reported = await jsonLines(child.stdout).next();
    assert.equal(reported.code, 'ERR_BACKEND');
    assert.match(reported.message, /npm install pg/u);
  });

  test('a role that may not create the holders table still locks; holders are known from application_name', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const role = `r${process.pid}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`CREATE DATABASE ${role} OWNER onlyone`);
    await admin.end();
    const url = server.url.replace('onlyone@', `${role}@`).replace(/\/postgres$/u, `/${role}`);
    const name = lockName('norow');
    const lock = await acquire(name, { backend: 'postgres', url });
    try {
      assert.match(lock.fence, /^\d+$/u);
      const error = await acquire(name, { backend: 'postgres', url }).catch((e) => e);
      assert.equal(error.code, 'ERR_LOCK_BUSY');
      assert.equal(error.holder.pid, process.pid);
      assert.equal(error.holder.hostname, hostname());
      assert.match(error.holder.unverifiedReason, /application_name/u);
    } finally {
      await lock.release();
    }
    // Without the table the fence is made durable by a WAL message: a crash does not hand it out again.
    const before = await acquire(name, { backend: 'postgres', url });
    server.restart('immediate');
    const after = await acquire(name, { backend: 'postgres', url });
    assert.ok(BigInt(after.fence) > BigInt(before.fence), `${after.fence} after ${before.fence}`);
    await after.release();
    await before.release();
  });

  // Last: it restarts the server under every session of this file.
  // `immediate` is a crash: no shutdown checkpoint, so a later fence is larger only if the first one's commit was flushed.
  for (const mode of ['fast', 'immediate']) test(`a server restart (${mode}) while the lock is held: the holder gets LockLostError, and later fences are still larger`, async (t) => {
    const name = lockName('restart');
    const holder = pgHolder(t, name, opts(), 'hold');
    const held = await nextOf(holder.events, 'acquired');
    server.restart(mode);
    const lost = await nextOf(holder.events, 'lost');
    assert.equal(lost.code, 'ERR_LOCK_LOST');
    assert.equal((await exitOf(holder.child)).code, 4);
    const after = await acquire(name, opts());
    assert.ok(BigInt(after.fence) > BigInt(held.fence));
    await after.release();
  });
});
