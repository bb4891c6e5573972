// Waiting without polling, against peers that are not onlyone holders: every race the wait loop must survive.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { acquire, lockAddress, status } from '../dist/index.js';
import { delay, exitOf, lockName } from './helpers.mjs';

const addressOf = (name) => lockAddress(name, 'user', 'onlyone/v1/', process.getuid());

/**
 * A Python process that binds the padded address the way a C program would (sizeof sun_path), and then
 * listens with `backlog` (or does not listen at all when backlog is null), accepts nothing, and sleeps.
 */
function foreignBinder(address, backlog) {
  const script = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
body = sys.argv[1].encode('utf-8')
s.bind(b'\\0' + body + b'\\0' * (107 - len(body)))
${backlog === null ? '' : `s.listen(${backlog})`}
print('bound', flush=True)
time.sleep(60)
`;
  const body = address.slice(1).replace(/\0+$/u, '');
  const child = spawn('python3', ['-c', script, body], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise((resolve) => child.stdout.once('data', resolve));
  return { child, ready };
}

test('a name bound by a socket that does not listen: the waiter backs off, then acquires when it goes', async () => {
  const name = lockName('nolisten');
  const binder = foreignBinder(addressOf(name), null);
  await binder.ready;
  // Bound but not listening: acquire must report busy (no holder info to read), not spin or crash.
  const busy = await acquire(name).catch((error) => error);
  assert.equal(busy.code, 'ERR_LOCK_BUSY');
  // Nobody can connect, but /proc says which process holds the bound socket (see identity.test.mjs).
  assert.equal(busy.holder.pid, binder.child.pid);
  assert.equal(busy.holder.verified, true);
  assert.ok((await status(name)) !== undefined, 'status does not call a bound name free');
  const waiting = acquire(name, { wait: true, timeoutMs: 20_000, pollIntervalMs: 200 });
  await delay(300);
  binder.child.kill('SIGKILL');
  const lock = await waiting;
  await lock.release();
});

test('a holder that accepts nothing and never says hello: busy names it from /proc; waiters still wake on exit', async () => {
  const name = lockName('silent');
  const binder = foreignBinder(addressOf(name), 16);
  await binder.ready;
  const started = Date.now();
  const busy = await acquire(name, { helloTimeoutMs: 300 }).catch((error) => error);
  assert.equal(busy.code, 'ERR_LOCK_BUSY');
  // No hello to report, but the kernel says who holds the socket (see identity.test.mjs).
  assert.equal(busy.holder.pid, binder.child.pid, 'identified through /proc, not from a claim');
  assert.equal(busy.holder.protocol, 0, 'it never said hello');
  assert.ok(Date.now() - started < 5000, 'hello timeout bounds the failed acquire');
  const seen = await status(name, { helloTimeoutMs: 300 });
  assert.ok(seen !== undefined, 'status says held even without a hello');
  const waiting = acquire(name, { wait: true, timeoutMs: 20_000 });
  await delay(300);
  binder.child.kill('SIGKILL');
  const lock = await waiting;
  await lock.release();
});

test('a holder whose backlog is full (EAGAIN): waiters back off and acquire after it exits', async () => {
  const name = lockName('backlog');
  const address = addressOf(name);
  const binder = foreignBinder(address, 0);
  await binder.ready;
  // Fill the backlog so further connects fail with EAGAIN.
  const fillers = [];
  for (let i = 0; i < 8; i++) {
    const socket = net.connect({ path: address });
    socket.on('error', () => {});
    fillers.push(socket);
  }
  await delay(100);
  const waiters = Array.from({ length: 5 }, () => acquire(name, { wait: true, timeoutMs: 20_000, pollIntervalMs: 200 }).then((lock) => lock));
  await delay(400);
  binder.child.kill('SIGKILL');
  await exitOf(binder.child);
  // Exactly one waiter gets it at a time; each releases so the next can follow.
  for (let i = 0; i < waiters.length; i++) {
    const lock = await Promise.race(waiters.map((w, j) => w.then((l) => ({ l, j }))));
    await lock.l.release();
    waiters.splice(lock.j, 1);
    i--;
    if (waiters.length === 0) break;
  }
  for (const s of fillers) s.destroy();
});

test('many waiters on one holder: each release hands over to exactly one of them', async () => {
  const name = lockName('queue');
  const first = await acquire(name);
  let holding = 0;
  let maxHolding = 0;
  const order = [];
  const waiters = Array.from({ length: 10 }, (_, i) => (async () => {
    const lock = await acquire(name, { wait: true, timeoutMs: 30_000 });
    holding++;
    maxHolding = Math.max(maxHolding, holding);
    order.push(i);
    await delay(5);
    holding--;
    await lock.release();
  })());
  await delay(100);
  await first.release();
  await Promise.all(waiters);
  assert.equal(maxHolding, 1);
  assert.equal(order.length, 10);
});
