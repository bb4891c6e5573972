// The holder's side of protocol v1, against raw sockets that behave well and badly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { acquire, PROTOCOL_VERSION } from '../dist/index.js';
import { delay, fixture, jsonLines, lockName, rawClient } from './helpers.mjs';


test('hello carries who holds the lock, on every connection', async () => {
  const name = lockName('hello');
  const lock = await acquire(name, { command: ['my-tool', '--flag', 'a b'] });
  const client = rawClient(lock.address);
  const hello = await client.frame(0);
  assert.equal(hello.type, 'hello');
  assert.equal(hello.v, PROTOCOL_VERSION);
  assert.equal(hello.name, name);
  assert.equal(hello.scope, 'user');
  assert.equal(hello.pid, process.pid);
  assert.equal(hello.uid, process.getuid());
  assert.deepEqual(hello.argv, ['my-tool', '--flag', 'a b']);
  assert.equal(hello.cwd, process.cwd());
  assert.equal(typeof hello.hostname, 'string');
  assert.ok(Math.abs(hello.acquiredAt - Date.now()) < 60_000);
  assert.ok(Number.isSafeInteger(hello.startTime));
  client.socket.destroy();
  await lock.release();
});

test('ping, unknown types, messages without a handler, release without consent', async () => {
  const lock = await acquire(lockName('frames'));
  const client = rawClient(lock.address);
  await client.frame(0);
  client.socket.write('{"type":"ping","id":1}\n{"type":"bogus","id":"x"}\n{"type":"message","id":2,"data":1}\n{"type":"release","id":3}\n');
  assert.deepEqual(await client.frame(1), { type: 'pong', id: 1 });
  assert.equal((await client.frame(2)).code, 'unknown_type');
  const answers = [await client.frame(3), await client.frame(4)].sort((a, b) => a.id - b.id);
  assert.equal(answers[0].code, 'no_handler');
  assert.equal(answers[1].code, 'not_supported');
  assert.equal(lock.held, true, 'a release request does not release a holder that did not opt in');
  client.socket.destroy();
  await lock.release();
});

test('bad frames get an error and the connection is closed; the holder carries on', async () => {
  const lock = await acquire(lockName('bad'), { maxMessageBytes: 1024 });
  const cases = [
    ['not JSON', 'hello there\n', 'bad_frame'],
    ['not an object', '[1,2,3]\n', 'bad_frame'],
    ['no type', '{"id":1}\n', 'bad_frame'],
    ['bad id', '{"type":"ping","id":{"x":1}}\n', 'bad_frame'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), 'bad_frame'],
    ['oversized', `{"type":"message","data":"${'x'.repeat(80 * 1024)}"}\n`, 'too_large'],
    ['oversized without newline', 'y'.repeat(80 * 1024), 'too_large'],
  ];
  for (const [what, bytes, code] of cases) {
    const client = rawClient(lock.address);
    await client.frame(0);
    client.socket.write(bytes);
    const error = await client.frame(1);
    assert.equal(error.type, 'error', what);
    assert.equal(error.code, code, what);
    await client.closed;
  }
  const after = rawClient(lock.address);
  assert.equal((await after.frame(0)).type, 'hello');
  after.socket.destroy();
  await lock.release();
});

test('a frame that is started but never finished is dropped after frameTimeoutMs', async () => {
  const lock = await acquire(lockName('slow'), { frameTimeoutMs: 200 });
  const client = rawClient(lock.address);
  await client.frame(0);
  client.socket.write('{"type":"pi');
  const error = await client.frame(1);
  assert.equal(error.code, 'bad_frame');
  assert.match(error.message, /not completed within 200 ms/);
  await client.closed;
  await lock.release();
});

test('idle connections (waiters) may stay; past maxConnections new ones are turned away with busy', async () => {
  const lock = await acquire(lockName('cap'), { maxConnections: 3 });
  const clients = [rawClient(lock.address), rawClient(lock.address), rawClient(lock.address)];
  for (const c of clients) assert.equal((await c.frame(0)).type, 'hello');
  const extra = rawClient(lock.address);
  assert.equal((await extra.frame(0)).code, 'busy');
  await extra.closed;
  await delay(50);
  for (const c of clients) assert.equal(c.socket.destroyed, false);
  // Release destroys every accepted connection: that is what wakes waiters.
  await lock.release();
  await Promise.all(clients.map((c) => c.closed));
});

test('a holder fed 10,000 random and oversized frames stays up and returns to its starting fd count', { timeout: 120_000 }, async () => {
  const name = lockName('flood');
  const child = spawn(process.execPath, ['--expose-gc', fixture('probe.mjs'), name, '{}'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const events = jsonLines(child.stdout);
  const start = await events.next();
  const lock = { address: (await import('../dist/index.js')).lockAddress(name, 'user', 'onlyone/v1/', process.getuid()) };
  try {
    let sent = 0;
    const junk = () => {
      switch (sent % 5) {
        case 0: return randomBytes(1 + (sent % 700));
        case 1: return Buffer.from(`${JSON.stringify({ type: 'message', id: sent, data: 'z'.repeat(1200 * 1024) })}\n`);
        case 2: return Buffer.from(`{"type":"ping","id":${sent}}\n${'['.repeat(5000)}\n`);
        case 3: return Buffer.concat([randomBytes(64), Buffer.from('\n')]);
        default: return Buffer.from(`{"type":"message","id":${sent},"data":${'9'.repeat(400)}}\n{"type":"reply"`);
      }
    };
    // 50 connections at a time, each carrying 10 frames, 20 waves: 10,000 frames in all.
    for (let wave = 0; wave < 20; wave++) {
      await Promise.all(Array.from({ length: 50 }, async () => {
        const socket = net.connect({ path: lock.address });
        socket.on('error', () => {});
        socket.resume();
        await new Promise((resolve) => socket.once('connect', resolve).once('error', resolve));
        for (let i = 0; i < 10; i++, sent++) socket.write(junk());
        await delay(5);
        if (wave % 2 === 0) socket.destroy(); else socket.end();
      }));
    }
    assert.equal(sent, 10_000);
    // The holder still answers.
    const client = rawClient(lock.address);
    assert.equal((await client.frame(0)).type, 'hello');
    client.socket.write('{"type":"message","id":7,"data":[1,"two",{"3":null}]}\n');
    assert.deepEqual((await client.frame(1)).data, { echo: [1, 'two', { 3: null }] });
    client.socket.destroy();
    // Every connection it accepted is gone: back to the starting fd count (sockets close within ~1 s).
    let stats;
    for (let i = 0; i < 50; i++) {
      await delay(100);
      child.stdin.write('stats\n');
      stats = await events.next();
      if (stats.fds <= start.fds) break;
    }
    assert.equal(stats.fds, start.fds, 'fd count back at baseline');
    assert.ok(stats.heap < start.heap + 64 * 1024 * 1024, `heap bounded: ${start.heap} -> ${stats.heap}`);
  } finally {
    child.kill('SIGKILL');
  }
});
