// `onlyone stop` and `run --replace` through the built CLI, against real holders; bystanders with the same
// command line must never be signalled.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitOf, lockName, startHolder } from './helpers.mjs';
import { cli, holdWithCli, startCli } from './cli-helpers.mjs';

/**
 * A process running the same `sh -c SCRIPT` as a holder, but not holding the lock. It logs any SIGTERM it gets
 * (and survives it) to a file; `check()` asserts it is alive and was never signalled.
 */
function bystander(script) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-bystander-'));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const child = spawn('sh', ['-c', `trap 'echo TERM >> ${log}' TERM; ${script}`], { stdio: 'ignore' });
  return {
    check() {
      assert.equal(child.exitCode, null, 'bystander still running');
      assert.equal(child.signalCode, null, 'bystander not killed');
      assert.equal(readFileSync(log, 'utf8'), '', 'bystander never got SIGTERM');
    },
    async end() {
      child.kill('SIGKILL');
      await exitOf(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('stop: an onlyone run holder stops its command on request ("released"); a second stop says not-held', async () => {
  const name = lockName('cli-stop-polite');
  const holder = await holdWithCli(name);
  const other = bystander(holder.script.replace(/\[ -d \S+ \] && /u, ''));
  try {
    const stopped = await cli(['stop', name, '--timeout', '20']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, 'released\n');
    const ended = await holder.done;
    // The command got SIGTERM and onlyone ended the way it did.
    assert.equal(ended.signal, 'SIGTERM');
    assert.match(ended.stderr, /release requested by pid \d+|release requested;/);
    other.check();
    const again = await cli(['stop', name]);
    assert.deepEqual([again.code, again.stdout], [0, 'not-held\n']);
    assert.equal((await cli(['status', name])).code, 1);
  } finally {
    await other.end();
    await holder.release();
  }
});

test('stop: a command that ignores SIGTERM is SIGKILLed after the timeouts; bystanders are untouched', async () => {
  const name = lockName('cli-stop-immortal');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-immortal-'));
  const script = `trap '' TERM; echo ready; while [ -d ${dir} ]; do sleep 0.05; done`;
  const run = startCli(['run', name, '--', 'sh', '-c', script]);
  const other = bystander(`while [ -d ${dir} ]; do sleep 0.05; done`);
  try {
    await run.waitFor('ready');
    const stopped = await cli(['stop', name, '--timeout', '1', '--kill-after', '1']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, 'killed\n');
    const ended = await run.done;
    assert.equal(ended.signal, 'SIGKILL');
    other.check();
    assert.equal((await cli(['status', name])).code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await other.end();
    run.child.kill('SIGKILL');
  }
});

test('stop: a library holder without onReleaseRequest is SIGTERMed ("terminated")', async () => {
  const name = lockName('cli-stop-stubborn');
  const holder = startHolder(name, { mode: 'stubborn' });
  try {
    assert.equal((await holder.events.next(20_000)).event, 'acquired');
    const stopped = await cli(['stop', name, '--timeout', '0.5', '--kill-after', '20']);
    assert.deepEqual([stopped.code, stopped.stdout], [0, 'terminated\n']);
    await exitOf(holder.child);
  } finally {
    holder.child.kill('SIGKILL');
  }
});

test('run --replace: the new run stops the old one politely and runs its command holding the lock', async () => {
  const name = lockName('cli-replace');
  const old = await holdWithCli(name);
  try {
    const replaced = startCli(['run', '--replace', '--grace', '20', name, '--', 'sh', '-c', 'echo took; echo "$ONLYONE_NAME"']);
    const result = await replaced.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `took\n${name}\n`);
    assert.match(result.stderr, /^onlyone: replaced the previous holder \(released\)$/m);
    assert.equal((await old.done).signal, 'SIGTERM');
  } finally {
    await old.release();
  }
});

test('lock.replaced says how acquire({ replace }) got the lock', async () => {
  const name = lockName('cli-replaced-field');
  const { acquire } = await import('../dist/index.js');
  const free = await acquire(name, { replace: { graceMs: 500 } });
  assert.equal(free.replaced, undefined);
  await free.release();
  const holder = startHolder(name, { mode: 'stubborn' });
  try {
    assert.equal((await holder.events.next(20_000)).event, 'acquired');
    const lock = await acquire(name, { replace: { graceMs: 500, killAfterMs: 20_000 } });
    assert.equal(lock.replaced, 'terminated');
    await lock.release();
  } finally {
    holder.child.kill('SIGKILL');
  }
});

test('run --replace with nobody holding the lock just runs; --replace with --slots is a usage error', async () => {
  const name = lockName('cli-replace-free');
  const free = await cli(['run', '--replace', name, '--', 'echo', 'ok']);
  assert.deepEqual([free.code, free.stdout], [0, 'ok\n']);
  const usage = await cli(['run', '--replace', '--slots', '2', name, '--', 'true']);
  assert.equal(usage.code, 64);
});

/** A private lockfile directory for one test, and the CLI flags that select it. */
function lockfileFlags(t) {
  const dir = mkdtempSync(join(tmpdir(), 'oo-cli-lf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return ['--backend', 'lockfile', '--dir', dir];
}

test('lockfile: run --replace stops the old run politely; status reports the new holder verified', async (t) => {
  const flags = lockfileFlags(t);
  const name = lockName('cli-lf-replace');
  const old = await holdWithCli(name, flags);
  const replacing = await holdWithCli(name, ['--replace', '--grace', '20', ...flags]).catch((error) => error);
  try {
    assert.ok(!(replacing instanceof Error), String(replacing));
    assert.match(replacing.stderr, /^onlyone: replaced the previous holder \(released\)$/m);
    assert.equal((await old.done).signal, 'SIGTERM');
    const seen = await cli(['status', name, '--json', ...flags]);
    const holder = JSON.parse(seen.stdout);
    assert.deepEqual([holder.held, holder.pid, holder.uid, holder.verified], [true, replacing.child.pid, process.getuid(), true], holder.unverifiedReason);
  } finally {
    await old.release();
    if (!(replacing instanceof Error)) await replacing.release();
  }
});

test('lockfile: stop SIGKILLs a command that ignores SIGTERM; a bystander with its command line is untouched', async (t) => {
  const flags = lockfileFlags(t);
  const name = lockName('cli-lf-stop');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-immortal-'));
  const loop = `while [ -d ${dir} ]; do sleep 0.05; done`;
  const run = startCli(['run', ...flags, name, '--', 'sh', '-c', `trap '' TERM; echo ready; ${loop}`]);
  const other = bystander(loop);
  try {
    await run.waitFor('ready');
    const stopped = await cli(['stop', name, '--timeout', '1', '--kill-after', '1', ...flags]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, 'killed\n');
    assert.equal((await run.done).signal, 'SIGKILL');
    other.check();
    assert.equal((await cli(['status', name, ...flags])).code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await other.end();
    run.child.kill('SIGKILL');
  }
});
