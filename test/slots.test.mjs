// acquire(name, { slots: N }): at most N holders, names NAME#0 ... NAME#N-1, waiting on all slots at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquire, tryAcquire, status, statusSlots, list, InvalidOptionError, InvalidLockNameError, LockBusyError } from '../dist/index.js';
import { lockName, startHolder, exitOf, fdCount, delay } from './helpers.mjs';

test('N+1 racing processes: exactly N win, each on a different slot', async () => {
  const slots = 3;
  const name = lockName('slots-race');
  const racers = Array.from({ length: slots + 1 }, () => startHolder(name, { options: { slots } }));
  try {
    const events = await Promise.all(racers.map((r) => r.events.next(30_000)));
    const winners = events.filter((e) => e.event === 'acquired');
    const losers = events.filter((e) => e.event === 'error');
    assert.equal(winners.length, slots, JSON.stringify(events));
    assert.equal(losers.length, 1);
    assert.equal(losers[0].code, 'ERR_LOCK_BUSY');
    assert.deepEqual(winners.map((w) => w.slot).sort(), [0, 1, 2]);
    const holders = await statusSlots(name, slots);
    assert.deepEqual(holders.map((h) => h?.pid).sort(), winners.map((w) => w.pid).sort());
    assert.deepEqual(holders.map((h) => h?.slot), [0, 1, 2]);
    assert.ok(holders.every((h) => h?.name === name));
  } finally {
    for (const r of racers) r.child.stdin.end();
    await Promise.all(racers.map((r) => exitOf(r.child)));
  }
});

test('in one process: slots fill in order, tryAcquire says undefined when all are held, status/list show every slot', async () => {
  const name = lockName('slots-local');
  const a = await acquire(name, { slots: 2 });
  const b = await acquire(name, { slots: 2 });
  try {
    assert.deepEqual([a.slot, b.slot], [0, 1]);
    assert.equal(a.name, name);
    assert.equal(await tryAcquire(name, { slots: 2 }), undefined);
    const error = await acquire(name, { slots: 2 }).catch((e) => e);
    assert.ok(error instanceof LockBusyError);
    assert.equal(error.holder.slot, 0);
    assert.equal((await status(`${name}#1`)).slot, 1);
    assert.equal(await status(name), undefined, 'the bare name is not a lock');
    const listed = (await list()).filter((h) => h.name === name);
    assert.deepEqual(listed.map((h) => h.slot).sort(), [0, 1]);
    await a.release();
    const c = await acquire(name, { slots: 2 });
    assert.equal(c.slot, 0);
    await c.release();
    assert.deepEqual((await statusSlots(name, 2)).map((h) => h?.slot), [undefined, 1]);
  } finally {
    await a.release();
    await b.release();
  }
});

test('a waiter watches every slot at once and wakes when any one frees', async () => {
  const name = lockName('slots-wait');
  const holders = [startHolder(name, { options: { slots: 3 } }), startHolder(name, { options: { slots: 3 } }), startHolder(name, { options: { slots: 3 } })];
  try {
    const events = await Promise.all(holders.map((h) => h.events.next(30_000)));
    assert.ok(events.every((e) => e.event === 'acquired'), JSON.stringify(events));
    // A slow safety poll would also get there eventually; a huge pollIntervalMs proves it is the close that wakes us.
    const waiting = acquire(name, { slots: 3, wait: true, timeoutMs: 60_000, pollIntervalMs: 600_000 });
    // Free the last slot, not the first: the waiter must be watching all of them.
    const last = holders[events.findIndex((e) => e.slot === 2)];
    last.child.kill('SIGKILL');
    const lock = await waiting;
    assert.equal(lock.slot, 2);
    await lock.release();
  } finally {
    for (const h of holders) h.child.stdin.end();
    await Promise.all(holders.map((h) => exitOf(h.child)));
  }
});

test("a full pool's LockBusyError forwards to slot 0's holder", async () => {
  const name = lockName('slots-forward');
  const a = await acquire(name, { slots: 2, onMessage: ({ data }) => ({ slot: 0, data }) });
  const b = await acquire(name, { slots: 2, onMessage: ({ data }) => ({ slot: 1, data }) });
  try {
    const error = await acquire(name, { slots: 2 }).catch((e) => e);
    assert.ok(error instanceof LockBusyError);
    assert.deepEqual(await error.send('hi'), { slot: 0, data: 'hi' });
  } finally {
    await a.release();
    await b.release();
  }
});

test('waiting on slots times out with LockTimeoutError and leaks no connection', async () => {
  const name = lockName('slots-timeout');
  const a = await acquire(name, { slots: 2 });
  const b = await acquire(name, { slots: 2 });
  try {
    const before = fdCount();
    await assert.rejects(acquire(name, { slots: 2, wait: true, timeoutMs: 300 }), (e) => e.code === 'ERR_LOCK_TIMEOUT');
    // Destroyed sockets close on the next turns of the event loop.
    for (let i = 0; i < 40 && fdCount() > before; i++) await delay(50);
    assert.equal(fdCount(), before);
  } finally {
    await a.release();
    await b.release();
  }
});

test('slots is validated, and every slot name must fit', async () => {
  for (const bad of [0, -1, 1.5, '2', Number.NaN, 1_000_000]) {
    await assert.rejects(acquire(lockName('slots-bad'), { slots: bad }), InvalidOptionError, String(bad));
  }
  // 10 slots need "#9"; a name that fits "#0" but with one more digit ("#10") does not must fail for 11 slots.
  const prefixBytes = Buffer.byteLength(`onlyone/v1/u${process.getuid()}/`);
  const name = lockName('fit').padEnd(107 - prefixBytes - 2, 'n');
  const ten = await acquire(name, { slots: 10 });
  await ten.release();
  await assert.rejects(acquire(name, { slots: 11 }), InvalidLockNameError);
});
