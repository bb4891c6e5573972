// acquire(name, { replace }): polite release request, then SIGTERM, then SIGKILL, aimed only at the
// processes verified to hold the lock's socket. Real holder processes, and bystanders with the same argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquire, stop, status, tryAcquire, InvalidOptionError, LockBusyError } from '../dist/index.js';
import { lockName, startHolder, exitOf, fixture, jsonLines, delay } from './helpers.mjs';

async function holding(mode, name = lockName(`rep-${mode}`), options = {}) {
  const holder = startHolder(name, { mode, options });
  const event = await holder.events.next(20_000);
  assert.equal(event.event, 'acquired', JSON.stringify(event));
  return { name, holder };
}

/** A process with exactly the holder's command line that holds nothing: it must never be signalled. */
async function bystander(name, mode, options = {}) {
  const child = spawn(process.execPath, [fixture('holder.mjs'), name, JSON.stringify(options), mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ONLYONE_TEST_BYSTANDER: '1' },
  });
  const events = jsonLines(child.stdout);
  assert.equal((await events.next(20_000)).event, 'bystander');
  return { child, events };
}

async function assertUntouched(b) {
  // Let any stray signal land and be reported before looking.
  await delay(200);
  assert.equal(b.child.exitCode, null, 'bystander still running');
  assert.equal(b.child.signalCode, null, 'bystander not killed');
  const stray = await b.events.next(50).catch(() => undefined);
  assert.equal(stray, undefined, `bystander got ${JSON.stringify(stray)}`);
  b.child.stdin.end();
  assert.deepEqual(await exitOf(b.child), { code: 0, signal: null });
}

test('a polite holder releases on request; nobody is signalled', async () => {
  const { name, holder } = await holding('polite');
  const b = await bystander(name, 'polite');
  const lock = await acquire(name, { replace: true });
  try {
    const event = await holder.events.next(15_000);
    assert.equal(event.event, 'released-on-request');
    assert.deepEqual(await exitOf(holder.child), { code: 0, signal: null });
    assert.ok(lock.held);
    await assertUntouched(b);
  } finally {
    await lock.release();
  }
});

test('a holder that refuses the request gets SIGTERM at once, not after the grace time', async () => {
  const { name, holder } = await holding('stubborn');
  const b = await bystander(name, 'stubborn');
  // A grace time far longer than the test's timeout: only escalating at once can pass.
  const lock = await acquire(name, { replace: { graceMs: 600_000, killAfterMs: 600_000 } });
  try {
    assert.equal((await holder.events.next(15_000)).event, 'sigterm');
    assert.deepEqual(await exitOf(holder.child), { code: 0, signal: null });
    await assertUntouched(b);
    // The signal went through a pidfd: koffi's native library is mapped now that a signal was sent.
    assert.match(readFileSync('/proc/self/maps', 'latin1'), /koffi/);
  } finally {
    await lock.release();
  }
});

test('a holder that ignores SIGTERM is SIGKILLed; a bystander that logs SIGTERM sees none', async () => {
  const { name, holder } = await holding('immortal');
  const b = await bystander(name, 'immortal');
  const lock = await acquire(name, { replace: { graceMs: 300, killAfterMs: 500 } });
  try {
    assert.equal((await holder.events.next(15_000)).event, 'sigterm-ignored');
    assert.deepEqual(await exitOf(holder.child), { code: null, signal: 'SIGKILL' });
    await assertUntouched(b);
  } finally {
    await lock.release();
  }
});

test('every verified holder is signalled: a child that inherited the lock fd too', async () => {
  const { name, holder } = await holding('share-fd');
  const childEvent = await holder.events.next(15_000);
  assert.equal(childEvent.event, 'child');
  const lock = await acquire(name, { replace: { graceMs: 0, killAfterMs: 20_000 } });
  try {
    assert.deepEqual(await exitOf(holder.child), { code: 0, signal: null });
    // Holding the lock proves the child no longer holds the socket; it was SIGTERMed (node's default: exit).
    assert.ok(lock.held);
    for (let i = 0; i < 100 && alive(childEvent.pid); i++) await delay(50);
    assert.equal(alive(childEvent.pid), false, 'the child was signalled too');
  } finally {
    await lock.release();
  }
});

test('stop() ends the holder without keeping the lock, and says how', async () => {
  assert.equal(await stop(lockName('stop-free')), 'not-held');
  const polite = await holding('polite');
  assert.equal(await stop(polite.name), 'released');
  assert.deepEqual(await exitOf(polite.holder.child), { code: 0, signal: null });
  const stubborn = await holding('stubborn');
  assert.equal(await stop(stubborn.name, { graceMs: 600_000, killAfterMs: 600_000 }), 'terminated');
  await exitOf(stubborn.holder.child);
  const immortal = await holding('immortal');
  assert.equal(await stop(immortal.name, { graceMs: 100, killAfterMs: 300 }), 'killed');
  assert.deepEqual(await exitOf(immortal.holder.child), { code: null, signal: 'SIGKILL' });
  assert.equal(await status(immortal.name), undefined);
});

test('an onReleaseRequest that rejects does not crash the holder; the replacer escalates after the grace time', async () => {
  const { name, holder } = await holding('release-rejects');
  const lock = await acquire(name, { replace: { graceMs: 300, killAfterMs: 600_000 } });
  try {
    assert.equal((await holder.events.next(15_000)).event, 'sigterm');
    assert.deepEqual(await exitOf(holder.child), { code: 0, signal: null });
  } finally {
    await lock.release();
  }
});

test('without koffi, replacing falls back to process.kill after re-verifying, and still spares bystanders', async () => {
  const { name, holder } = await holding('immortal');
  const b = await bystander(name, 'immortal');
  const replacer = spawn(process.execPath, ['--import', fixture('no-koffi.mjs'), fixture('replacer.mjs'), name, JSON.stringify({ graceMs: 100, killAfterMs: 300 })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const result = await jsonLines(replacer.stdout).next(60_000);
  assert.deepEqual(result, { event: 'acquired', koffi: false });
  assert.equal((await holder.events.next(15_000)).event, 'sigterm-ignored');
  assert.deepEqual(await exitOf(holder.child), { code: null, signal: 'SIGKILL' });
  await assertUntouched(b);
  await exitOf(replacer);
});

test('a waiter that wins the race after a polite release is never replaced in its turn', async () => {
  const { name, holder } = await holding('polite');
  const waiter = startHolder(name, { mode: 'wait' });
  // Give the waiter time to start and connect; either way, the assertions below hold for both outcomes.
  await delay(500);
  const outcome = await acquire(name, { replace: { graceMs: 10_000, killAfterMs: 10_000 } }).then(
    (lock) => ({ lock }),
    (error) => ({ error }),
  );
  await exitOf(holder.child);
  try {
    if (outcome.lock) {
      assert.equal(waiter.child.exitCode, null, 'the waiter still waits, unharmed');
      assert.equal(waiter.child.signalCode, null);
    } else {
      assert.ok(outcome.error instanceof LockBusyError, String(outcome.error));
      assert.match(outcome.error.cause.message, /another process took the lock/);
      assert.equal((await waiter.events.next(15_000)).event, 'acquired');
      await delay(200);
      assert.equal(waiter.child.signalCode, null, 'the waiter was not signalled');
    }
  } finally {
    await outcome.lock?.release();
    waiter.child.stdin.end();
    const end = await exitOf(waiter.child);
    assert.equal(end.signal, null);
  }
});

test('replace on a free lock just acquires it', async () => {
  const lock = await acquire(lockName('rep-free'), { replace: true });
  assert.ok(lock.held);
  await lock.release();
});

test('this process holding the lock is never signalled: LockBusyError', async () => {
  const name = lockName('rep-self');
  const mine = await acquire(name);
  try {
    await assert.rejects(acquire(name, { replace: { graceMs: 0 } }), (error) => error instanceof LockBusyError && /nothing was signalled/.test(error.cause.message));
    assert.ok(mine.held);
  } finally {
    await mine.release();
  }
});

test('replace options are validated', async () => {
  await assert.rejects(acquire(lockName('rep-bad'), { replace: { graceMs: -1 } }), InvalidOptionError);
  await assert.rejects(acquire(lockName('rep-bad'), { replace: 'yes' }), InvalidOptionError);
  await assert.rejects(acquire(lockName('rep-bad'), { replace: true, slots: 2 }), InvalidOptionError);
});

/** Kills these processes when the test ends, however it ends, so a failed assertion cannot leave them running. */
function cleanup(t, ...children) {
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** The lockfile backend in a private directory for one test, removed afterwards. */
function lockfileOptions(t) {
  const dir = mkdtempSync(join(tmpdir(), 'oo-rep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { backend: 'lockfile', dir };
}

test('lockfile: replace escalates to SIGTERM, then SIGKILL, aimed only at the verified holder', async (t) => {
  const options = lockfileOptions(t);
  const stubborn = await holding('stubborn', lockName('rep-lf-stubborn'), options);
  const b = await bystander(stubborn.name, 'stubborn', options);
  cleanup(t, stubborn.holder.child, b.child);
  const lock = await acquire(stubborn.name, { ...options, replace: { graceMs: 600_000, killAfterMs: 600_000 } });
  try {
    assert.equal(lock.replaced, 'terminated');
    assert.equal((await stubborn.holder.events.next(15_000)).event, 'sigterm');
    assert.deepEqual(await exitOf(stubborn.holder.child), { code: 0, signal: null });
    assert.equal((await status(stubborn.name, options)).pid, process.pid);
    await assertUntouched(b);
  } finally {
    await lock.release();
  }
  const immortal = await holding('immortal', lockName('rep-lf-immortal'), options);
  cleanup(t, immortal.holder.child);
  const lock2 = await acquire(immortal.name, { ...options, replace: { graceMs: 300, killAfterMs: 500 } });
  assert.equal(lock2.replaced, 'killed');
  assert.deepEqual(await exitOf(immortal.holder.child), { code: null, signal: 'SIGKILL' });
  await lock2.release();
});

test('lockfile: stop() asks, then SIGTERMs, then SIGKILLs, and leaves the lock free', async (t) => {
  const options = lockfileOptions(t);
  assert.equal(await stop(lockName('rep-lf-free'), options), 'not-held');
  const polite = await holding('polite', lockName('rep-lf-polite'), options);
  cleanup(t, polite.holder.child);
  assert.equal(await stop(polite.name, options), 'released');
  assert.deepEqual(await exitOf(polite.holder.child), { code: 0, signal: null });
  const stubborn = await holding('stubborn', lockName('rep-lf-stubborn'), options);
  const b = await bystander(stubborn.name, 'stubborn', options);
  cleanup(t, stubborn.holder.child, b.child);
  assert.equal(await stop(stubborn.name, { ...options, graceMs: 600_000, killAfterMs: 600_000 }), 'terminated');
  await exitOf(stubborn.holder.child);
  await assertUntouched(b);
  const immortal = await holding('immortal', lockName('rep-lf-immortal'), options);
  cleanup(t, immortal.holder.child);
  assert.equal(await stop(immortal.name, { ...options, graceMs: 100, killAfterMs: 300 }), 'killed');
  assert.deepEqual(await exitOf(immortal.holder.child), { code: null, signal: 'SIGKILL' });
  assert.equal(await status(immortal.name, options), undefined);
  const free = await tryAcquire(immortal.name, options);
  assert.ok(free !== undefined, 'stop left the lock free');
  await free.release();
});

test('lockfile: stop() ends a flock(1) holder (no socket) through its flock; a process with the file open is spared', { skip: spawnSync('flock', ['--version']).status !== 0 && 'flock(1) is not installed' }, async (t) => {
  const options = lockfileOptions(t);
  const name = lockName('rep-lf-flock');
  const lockPath = join(options.dir, `${name}.lock`);
  const holder = spawn('flock', ['-n', lockPath, 'sh', '-c', 'echo locked; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  t.after(() => { try { process.kill(-holder.pid, 'SIGKILL'); } catch {} });
  holder.stdout.setEncoding('utf8');
  assert.match((await new Promise((resolve) => holder.stdout.once('data', resolve))), /locked/);
  // A process with the lock file open on its fd 3 but no flock (as a `flock` waiter would be): a bystander.
  const log = join(options.dir, 'bystander.log');
  writeFileSync(log, '');
  const fd = openSync(lockPath, 'r');
  const other = spawn('sh', ['-c', `trap 'echo TERM >> ${log}' TERM; echo ready; while [ -d ${options.dir} ]; do sleep 0.05; done`], { stdio: ['ignore', 'pipe', 'inherit', fd] });
  closeSync(fd);
  t.after(() => other.kill('SIGKILL'));
  other.stdout.setEncoding('utf8');
  assert.match((await new Promise((resolve) => other.stdout.once('data', resolve))), /ready/);
  assert.equal(await stop(name, { ...options, graceMs: 100, killAfterMs: 20_000 }), 'terminated');
  assert.equal((await exitOf(holder)).signal, 'SIGTERM');
  await delay(200);
  assert.equal(other.exitCode, null, 'bystander still running');
  assert.equal(readFileSync(log, 'utf8'), '', 'bystander never got SIGTERM');
});

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie waiting for its reaper is dead for our purposes.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}
