// Waiters queue in arrival order (src/backends/socket/queue.ts): a release wakes the first waiter only, and a
// waiter that leaves or dies does not stall the ones behind it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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
  return readFileSync('/proc/net/unix', 'utf8').split('\n').filter((line) => line.includes(` @${base}`) && line.split(/\s+/u)[3] === '00010000').length;
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
