// Waiting on the postgres backend for longer than the lease: a granted lock is live. The waits are real (15 s and
// 60 s, run side by side, so the file takes about a minute); a session the server ends for idleness while nothing
// is held yet is not a backend failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { exitOf, jsonLines, lockName } from './helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const index = new URL('../dist/index.js', import.meta.url).href;
const unavailable = postgresUnavailable();
let server;

/** A library holder that holds `name` for `holdMs`, then releases; prints `acquired` and `released`. */
function holder(name, idleSessionTimeoutMs, holdMs) {
  return node(`
    import { acquire } from ${JSON.stringify(index)};
    const lock = await acquire(${JSON.stringify(name)}, { backend: 'postgres', url: ${JSON.stringify(server.url)}, idleSessionTimeoutMs: ${idleSessionTimeoutMs} });
    console.log(JSON.stringify({ event: 'acquired' }));
    await new Promise((resolve) => setTimeout(resolve, ${holdMs}));
    if (!lock.held) { console.log(JSON.stringify({ event: 'lost' })); process.exit(4); }
    await lock.release();
    console.log(JSON.stringify({ event: 'released', mono: String(process.hrtime.bigint()) }));`);
}

/**
 * `count` library waiters in one process, each on its own session. Each reports what acquire handed it (held,
 * signal, lease), then works for `workMs` (checking lock.signal before each unit) and releases. Stamps are
 * CLOCK_MONOTONIC, so critical sections can be compared.
 */
function waiters(name, idleSessionTimeoutMs, count, workMs) {
  return node(`
    import { acquire } from ${JSON.stringify(index)};
    const now = () => String(process.hrtime.bigint());
    await Promise.all(Array.from({ length: ${count} }, async (_, i) => {
      const lock = await acquire(${JSON.stringify(name)}, { backend: 'postgres', url: ${JSON.stringify(server.url)}, idleSessionTimeoutMs: ${idleSessionTimeoutMs}, wait: true });
      const start = now();
      const granted = { held: lock.held, aborted: lock.signal.aborted, reason: lock.signal.reason?.message, lostInMs: lock.lease?.lostInMs };
      let units = 0;
      const until = Date.now() + ${workMs};
      while (Date.now() < until && !lock.signal.aborted) { units++; await new Promise((resolve) => setTimeout(resolve, 5)); }
      const end = now();
      const aborted = lock.signal.aborted;
      await lock.release();
      console.log(JSON.stringify({ event: 'section', i, start, end, units, abortedWhileWorking: aborted, ...granted }));
    }));
    console.log(JSON.stringify({ event: 'done' }));`);
}

function node(source) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, events: jsonLines(child.stdout) };
}

async function nextOf(events, kind, timeoutMs = 120_000) {
  for (;;) {
    const event = await events.next(timeoutMs);
    if (event.event === kind) return event;
  }
}

/** `onlyone run --wait` with a command that outlives the lease several times over; its stderr is kept. */
function cliWaiter(name, args, seconds) {
  const child = spawn(process.execPath, [cli, 'run', '--wait', '--backend', server.url, ...args, name, '--', '/bin/sh', '-c', `sleep ${seconds}; echo finished`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  return { child, output: () => ({ out, err }) };
}

/** Checks that every waiter got a live lock and that no two critical sections overlapped. */
function assertLiveAndExclusive(sections, count) {
  assert.equal(sections.length, count);
  for (const section of sections) {
    assert.equal(section.held, true, `waiter ${section.i} got a lock that is not held: ${section.reason}`);
    assert.equal(section.aborted, false, `waiter ${section.i} got a lock whose signal was aborted: ${section.reason}`);
    assert.ok(section.lostInMs > 0, `waiter ${section.i} got a lease with ${section.lostInMs} ms left`);
    assert.equal(section.abortedWhileWorking, false, `waiter ${section.i} lost its lock while working`);
  }
  const sorted = sections.map((s) => ({ ...s, start: BigInt(s.start), end: BigInt(s.end) })).sort((a, b) => (a.start < b.start ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    assert.ok(sorted[i].start > sorted[i - 1].end, `waiter ${sorted[i].i} started while waiter ${sorted[i - 1].i} still worked`);
  }
}

describe('postgres: waits longer than the lease', { skip: unavailable, timeout: 240_000, concurrency: true }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  test('a 15 s wait under a 10 s idle_session_timeout: 20 queued waiters and a CLI waiter each get a live lock, one at a time', async () => {
    const name = lockName('wait15');
    const h = holder(name, 10_000, 15_000);
    await nextOf(h.events, 'acquired');
    const w = waiters(name, 10_000, 20, 50);
    const c = cliWaiter(name, ['--idle-session-timeout', '10'], 1);
    const sections = [];
    for (;;) {
      const event = await w.events.next(120_000);
      if (event.event === 'done') break;
      if (event.event === 'section') sections.push(event);
    }
    assertLiveAndExclusive(sections, 20);
    assert.equal((await exitOf(w.child)).code, 0);
    const { code } = await exitOf(c.child);
    assert.equal(code, 0, `onlyone run --wait: ${JSON.stringify(c.output())}`);
    assert.match(c.output().out, /finished/u);
    assert.equal((await exitOf(h.child)).code, 0);
  });

  test('a 60 s wait under a 1 s idle_session_timeout: a library waiter and a CLI waiter get a live lock', async () => {
    const name = lockName('wait60');
    const h = holder(name, 1000, 60_000);
    await nextOf(h.events, 'acquired');
    const w = waiters(name, 1000, 1, 2500);
    // The command sleeps for three leases: only heartbeats sent after the grant keep it.
    const c = cliWaiter(name, ['--idle-session-timeout', '1'], 3);
    const section = await nextOf(w.events, 'section');
    const { mono: releasedAt } = await nextOf(h.events, 'released');
    assertLiveAndExclusive([section], 1);
    assert.ok(BigInt(section.start) > BigInt(releasedAt) - 1_000_000_000n);
    assert.ok(section.units > 0);
    const { code } = await exitOf(c.child);
    assert.equal(code, 0, `onlyone run --wait: ${JSON.stringify(c.output())}`);
    assert.match(c.output().out, /finished/u);
  });

  test('a waiter whose session the server ends for idleness before the grant starts over instead of failing', async (t) => {
    // A proxy in front of the server holds back the waiter's first `SET lock_timeout` (sent between the failed try
    // and the wait) for longer than the 1 s idle_session_timeout, as a stop of the process or a slow network would:
    // the server ends that session. That is neither a lost lock nor a backend failure.
    const port = Number(new URL(server.url).port);
    let delayed = 0;
    const proxy = createServer((client) => {
      const upstream = connect(port, '127.0.0.1');
      let chain = Promise.resolve();
      client.on('data', (chunk) => {
        const hold = delayed === 0 && chunk.includes('SET lock_timeout');
        if (hold) delayed++;
        chain = chain.then(() => new Promise((resolve) => setTimeout(resolve, hold ? 2000 : 0))).then(() => upstream.write(chunk));
      });
      upstream.pipe(client);
      const close = () => { client.destroy(); upstream.destroy(); };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.after(() => proxy.close());
    const url = new URL(server.url);
    url.port = String(proxy.address().port);
    const name = lockName('idlewaiter');
    // Held until the held-back statement has cost the waiter its first session (however slowly the waiter starts).
    const h = holder(name, 10_000, 600_000);
    await nextOf(h.events, 'acquired');
    const child = spawn(process.execPath, [cli, 'run', '--wait', '--backend', url.href, '--idle-session-timeout', '1', name, '--', '/bin/sh', '-c', 'echo ran'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
    while (delayed === 0 && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    h.child.kill('SIGKILL');
    const { code } = await exitOf(child);
    assert.equal(delayed, 1, 'the proxy never held back a SET lock_timeout');
    assert.equal(code, 0, `exit ${code}: ${err}`);
    assert.equal(out, 'ran\n');
  });
});
