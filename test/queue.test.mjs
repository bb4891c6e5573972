// Waiters queue in arrival order (src/backends/socket/queue.ts): a release wakes the first waiter only, and a
// waiter that leaves or dies does not stall the ones behind it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { acquire } from '../dist/index.js';
import { ticketAddress } from '../dist/backends/socket/queue.js';
import { abstractAddress, DEFAULT_PREFIX } from '../dist/address.js';
import { delay, fixture, jsonLines, lockName } from './helpers.mjs';

// A stall would only end at this safety poll, far beyond the test's own timeout.
const NO_POLL = { pollIntervalMs: 600_000 };

const children = new Set();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function startWaiter(name, options = NO_POLL, mode = 'hold') {
  const child = spawn(process.execPath, [fixture('queue-waiter.mjs'), name, JSON.stringify(options), mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  return { child, events: jsonLines(child.stdout), exited: once(child, 'exit') };
}

/** Ticket sockets bound for `name`'s line right now, from /proc/net/unix ('@' is the abstract NUL there). */
function ticketsInLine(name) {
  const lock = abstractAddress(name, 'user', DEFAULT_PREFIX, process.getuid());
  const base = ticketAddress(DEFAULT_PREFIX, lock, 1).replace(/\0+$/u, '').slice(1, -1);
  // Listening sockets only (flags __SO_ACCEPTCON): a successor's accepted connection shows the same path.
  const ticket = new RegExp(` @${base.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}\\d+@*$`, 'u');
  return readFileSync('/proc/net/unix', 'utf8').split('\n').filter((line) => ticket.test(line) && line.split(/\s+/u)[3] === '00010000').length;
}

/** Starts waiters one by one, each only once the one before has its place in line. */
async function lineUp(name, count, mode) {
  const waiters = [];
  for (let i = 0; i < count; i++) {
    const waiter = startWaiter(name, NO_POLL, mode);
    waiters.push(waiter);
    await waiter.events.next();
    while (ticketsInLine(name) < i + 1) await delay(10);
  }
  return waiters;
}

test('waiters get the lock in the order they came', { timeout: 60_000 }, async () => {
  const name = lockName('fifo');
  const lock = await acquire(name);
  const waiters = await lineUp(name, 6, 'pass');
  const order = [];
  const done = waiters.map(async (waiter, index) => {
    const event = await waiter.events.next(50_000);
    if (event.event === 'acquired') order.push(index);
    await waiter.exited;
  });
  await lock.release();
  await Promise.all(done);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.equal(ticketsInLine(name), 0, 'everyone left the line');
});

test('a waiter that gives up or is killed does not stall the line', { timeout: 60_000 }, async () => {
  const name = lockName('leave');
  const lock = await acquire(name);
  const [first, quitter, victim, last] = await lineUp(name, 4, 'hold');
  quitter.child.kill('SIGTERM');
  victim.child.kill('SIGKILL');
  await Promise.all([quitter.exited, victim.exited]);
  await lock.release();
  assert.equal((await first.events.next(50_000)).event, 'acquired');
  first.child.stdin.write('release\n');
  assert.equal((await first.events.next(50_000)).event, 'released');
  // With the safety poll ten minutes away, only the line itself can hand the lock on here.
  assert.equal((await last.events.next(50_000)).event, 'acquired');
  last.child.stdin.write('release\n');
  await Promise.all([first.exited, last.exited]);
});

test("a release goes to the front of the line, not to the releaser's own next acquire", { timeout: 60_000 }, async () => {
  const name = lockName('barge');
  const lock = await acquire(name);
  const [waiter] = await lineUp(name, 1, 'hold');
  await lock.release();
  // The same process asks again at once: it must queue behind the waiter that was there first.
  const again = acquire(name, { ...NO_POLL, wait: true });
  assert.equal((await waiter.events.next(50_000)).event, 'acquired');
  waiter.child.stdin.write('release\n');
  await waiter.exited;
  await (await again).release();
});

/** Listens at `address` (abstract), answering each connection with `answer` when given; resolves with the server. */
async function listenAt(address, answer) {
  const server = createServer((socket) => (answer === undefined ? socket.resume() : socket.end(answer)));
  await new Promise((resolve) => server.listen({ path: address }, resolve));
  return server;
}

/** Ticket numbers bound for `name`'s line right now. */
function ticketNumbers(name) {
  const lock = abstractAddress(name, 'user', DEFAULT_PREFIX, process.getuid());
  const base = ticketAddress(DEFAULT_PREFIX, lock, 1).replace(/\0+$/u, '').slice(1, -1);
  return readFileSync('/proc/net/unix', 'utf8').split('\n').filter((line) => line.split(/\s+/u)[3] === '00010000').map((line) => line.split(' @')[1]?.replace(/@+$/u, '')).filter((path) => path?.startsWith(base) && /^\d+$/u.test(path.slice(base.length))).map((path) => Number(path.slice(base.length))).sort((a, b) => a - b);
}

test('a newcomer takes its ticket behind the last waiter, past the tickets freed by those served meanwhile', { timeout: 60_000 }, async (t) => {
  const name = lockName('tail');
  const lock = await acquire(name);
  const address = abstractAddress(name, 'user', DEFAULT_PREFIX, process.getuid());
  // The front said 2 a moment ago; 2, 3 and 4 have since been served, and 5, 6 and 7 (a gap at 6) still wait.
  const servers = [await listenAt(ticketAddress(DEFAULT_PREFIX, address, 'front'), '2'), ...(await Promise.all([5, 7].map((n) => listenAt(ticketAddress(DEFAULT_PREFIX, address, n)))))];
  t.after(() => servers.forEach((server) => server.close()));
  const waiter = startWaiter(name, NO_POLL, 'hold');
  await waiter.events.next();
  while (!ticketNumbers(name).includes(8) && ticketNumbers(name).length < 3) await delay(10);
  assert.deepEqual(ticketNumbers(name), [5, 7, 8]);
  waiter.child.kill('SIGKILL');
  await waiter.exited;
  await lock.release();
});

test('a front marker that answers anything but a ticket is no line at all', { timeout: 60_000 }, async (t) => {
  const name = lockName('hostile-front');
  const lock = await acquire(name);
  const address = abstractAddress(name, 'user', DEFAULT_PREFIX, process.getuid());
  // A lenient parser would read 12 and queue at 13; the waiter must start the line after the holder instead.
  const front = await listenAt(ticketAddress(DEFAULT_PREFIX, address, 'front'), '12\0garbage');
  t.after(() => front.close());
  const waiter = startWaiter(name, NO_POLL, 'hold');
  await waiter.events.next();
  while (ticketNumbers(name).length === 0) await delay(10);
  assert.deepEqual(ticketNumbers(name), [1]);
  waiter.child.kill('SIGKILL');
  await waiter.exited;
  await lock.release();
});

test('a stopped waiter at the front does not hold up the line behind it', { timeout: 60_000 }, async () => {
  const name = lockName('stopped');
  const lock = await acquire(name);
  const polling = { pollIntervalMs: 200 };
  const stopped = startWaiter(name, polling, 'pass');
  await stopped.events.next();
  while (ticketNumbers(name).length < 1) await delay(10);
  const behind = startWaiter(name, polling, 'hold');
  await behind.events.next();
  while (ticketNumbers(name).length < 2) await delay(10);
  stopped.child.kill('SIGSTOP');
  await lock.release();
  assert.equal((await behind.events.next(50_000)).event, 'acquired');
  behind.child.stdin.write('release\n');
  assert.equal((await behind.events.next(50_000)).event, 'released');
  stopped.child.kill('SIGCONT');
  assert.equal((await stopped.events.next(50_000)).event, 'acquired');
  await Promise.all([stopped.exited, behind.exited]);
});
