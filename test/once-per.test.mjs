// --once-per: at most one run started per window, windows on the backend's clock (lockfile: the file system's;
// postgres and etcd: the server's), the run record in the backend, --retry-failed, and abstract's refusal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startCli } from './cli-helpers.mjs';
import { distEntry, lockName } from './helpers.mjs';
import { etcdUnavailable, startEtcd } from './etcd-server.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const { acquire, lastRun, withLock, AlreadyRanError } = await import(distEntry);
const { windowAt } = await import(new URL('../dist/once-per/window.js', import.meta.url).href);
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const HOUR = 3_600_000;

describe('windows', () => {
  test('are aligned to the epoch, shifted by the offset', () => {
    const at = Date.UTC(2026, 0, 15, 1, 0, 0);
    assert.deepEqual(windowAt(at, { periodMs: 24 * HOUR, offsetMs: 2.5 * HOUR, timeZone: undefined }), { start: Date.UTC(2026, 0, 14, 2, 30), end: Date.UTC(2026, 0, 15, 2, 30) });
    const later = Date.UTC(2026, 0, 15, 3, 0, 0);
    assert.deepEqual(windowAt(later, { periodMs: 24 * HOUR, offsetMs: 2.5 * HOUR, timeZone: undefined }), { start: Date.UTC(2026, 0, 15, 2, 30), end: Date.UTC(2026, 0, 16, 2, 30) });
    assert.deepEqual(windowAt(Date.UTC(2026, 0, 15, 0, 7, 30), { periodMs: 5 * 60_000, offsetMs: 0, timeZone: undefined }), { start: Date.UTC(2026, 0, 15, 0, 5), end: Date.UTC(2026, 0, 15, 0, 10) });
  });

  test('follow the wall clock of a time zone, across a DST change', () => {
    const day = { periodMs: 24 * HOUR, offsetMs: 2.5 * HOUR, timeZone: 'Europe/Paris' };
    // Winter: Paris is UTC+1, so 02:30 in Paris is 01:30 UTC.
    assert.deepEqual(windowAt(Date.UTC(2026, 0, 15, 12), day), { start: Date.UTC(2026, 0, 15, 1, 30), end: Date.UTC(2026, 0, 16, 1, 30) });
    // Summer: UTC+2.
    assert.deepEqual(windowAt(Date.UTC(2026, 6, 15, 12), day), { start: Date.UTC(2026, 6, 15, 0, 30), end: Date.UTC(2026, 6, 16, 0, 30) });
    // 2026-10-25 Paris goes back from 03:00 to 02:00: the day from 00:00 lasts 25 hours.
    const midnight = { periodMs: 24 * HOUR, offsetMs: 0, timeZone: 'Europe/Paris' };
    const w = windowAt(Date.UTC(2026, 9, 25, 12), midnight);
    assert.equal(w.end - w.start, 25 * HOUR);
  });
});

/**
 * The lockfile, postgres and etcd variants of one test: `where` gives the CLI arguments of `run` (`args`) and of
 * `status` (`query`, when they differ) and the library options.
 */
function backends() {
  const dirs = [];
  let server;
  let etcd;
  const unavailable = postgresUnavailable();
  const noEtcd = etcdUnavailable();
  before(async () => {
    if (!unavailable) server = await startPostgres();
    if (!noEtcd) etcd = await startEtcd();
  });
  after(async () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
    await etcd?.stop();
  });
  const lockfile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'onlyone-once-'));
    dirs.push(dir);
    return { args: ['--backend', 'lockfile', '--dir', dir], options: { backend: 'lockfile', dir } };
  };
  const postgres = () => ({ args: ['--backend', server.url], options: { backend: 'postgres', url: server.url } });
  // A 2 s lease, so a SIGKILLed holder's lock passes on within the test's patience.
  const etcdWhere = () => ({ args: ['--backend', etcd.url, '--ttl', '2'], query: ['--backend', etcd.url], options: { backend: 'etcd', url: etcd.url, ttlSeconds: 2 } });
  return [
    ['lockfile', lockfile, undefined],
    ['postgres', postgres, unavailable],
    ['etcd', etcdWhere, noEtcd],
  ];
}

for (const [kind, where, skip] of backends()) {
  describe(`once per window on ${kind}`, { skip }, () => {
    test('a second run in the same window exits with the conflict status and says who ran', async () => {
      const name = lockName('once');
      const { args, query } = where();
      const first = await cli(['run', ...args, '--once-per', '1d', name, '--', 'sh', '-c', 'echo first $ONLYONE_WINDOW'], { env: { ONLYONE_WINDOW: 'inherited' } });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^first \d{4}-\d\d-\d\dT00:00:00\.000Z\n$/u);
      const second = await cli(['run', ...args, '--once-per', '1d', name, '--', 'sh', '-c', 'echo second']);
      assert.equal(second.code, 75);
      assert.equal(second.stdout, '');
      assert.match(second.stderr, new RegExp(`^onlyone: ${name} already ran in this window: started \\d\\d:\\d\\d:\\d\\d UTC on .+ \\(pid \\d+\\), exit 0\\n$`, 'u'));
      const custom = await cli(['run', ...args, '-E', '3', '--once-per', '1d', name, '--', 'true']);
      assert.equal(custom.code, 3);
    });

    test('status shows the last run, and --json carries it', async () => {
      const name = lockName('status');
      const { args, query } = where();
      assert.equal((await cli(['run', ...args, '--once-per', '1d', '--offset', '2h30m', name, '--', 'sh', '-c', 'exit 4'])).code, 4);
      const text = await cli(['status', ...(query ?? args), name]);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /last run: started .* UTC on .+ \(pid \d+\), exit 4\n/u);
      const { lastRun: run } = JSON.parse((await cli(['status', ...(query ?? args), '--json', name])).stdout);
      assert.equal(run.exit, 4);
      assert.match(run.window.start, /T02:30:00\.000Z$/u);
      assert.equal(Date.parse(run.window.end) - Date.parse(run.window.start), 24 * HOUR);
      assert.ok(Date.parse(run.startedAt) <= Date.parse(run.endedAt));
      if (kind !== 'lockfile') assert.match(run.fence, /^\d+$/u);
    });

    test('a failed run uses up its window, unless --retry-failed', async () => {
      const name = lockName('retry');
      const { args, query } = where();
      assert.equal((await cli(['run', ...args, '--once-per', '1d', name, '--', 'sh', '-c', 'exit 3'])).code, 3);
      assert.equal((await cli(['run', ...args, '--once-per', '1d', name, '--', 'true'])).code, 75);
      const retried = await cli(['run', ...args, '--once-per', '1d', '--retry-failed', name, '--', 'sh', '-c', 'echo again']);
      assert.equal(retried.code, 0, retried.stderr);
      assert.equal(retried.stdout, 'again\n');
      // A success is not retried.
      assert.equal((await cli(['run', ...args, '--once-per', '1d', '--retry-failed', name, '--', 'true'])).code, 75);
    });

    test('a run whose onlyone was SIGKILLed still counts as started; --retry-failed runs again', async () => {
      const name = lockName('crash');
      const { args, query } = where();
      const run = startCli(['run', ...args, '--once-per', '1d', name, '--', 'sh', '-c', 'echo "started $$."; exec sleep 30']);
      await run.waitFor('.');
      run.child.kill('SIGKILL');
      await run.done;
      // On a backend without a lease the command outlives a SIGKILLed wrapper and keeps the inherited lock (as under
      // flock(1)): end it, so the next run is decided by the record, not by how long the orphan sleeps.
      const orphan = Number(/started (\d+)\./u.exec(run.stdout)?.[1]);
      try { process.kill(orphan, 'SIGKILL'); } catch { /* already gone: a leased backend's guard killed it */ }
      const { lastRun: record } = JSON.parse((await cli(['status', ...(query ?? args), '--json', name])).stdout);
      assert.equal(record.endedAt, null);
      let again;
      for (let i = 0; i < 100; i++) {
        again = await cli(['run', ...args, '--once-per', '1d', name, '--', 'true']);
        if (again.code !== 75 || /already ran/u.test(again.stderr)) break;
        await new Promise((r) => setTimeout(r, 100)); // the orphaned sleep still held the inherited lock
      }
      assert.equal(again.code, 75);
      assert.match(again.stderr, /already ran in this window: .*no recorded end \(it crashed or lost its lock\)/u);
      let retried;
      for (let i = 0; i < 100; i++) {
        retried = await cli(['run', ...args, '--once-per', '1d', '--retry-failed', name, '--', 'true']);
        if (retried.code !== 75) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(retried.code, 0, retried.stderr);
    });

    test('windows come from the backend, not from a host whose clock is hours off', { skip: process.platform !== 'linux' && 'libfaketime' }, async () => {
      const name = lockName('skew');
      const { args, query } = where();
      const before = Date.now();
      // The host's clock is 3 hours ahead: a window cut on it would be the 1-hour window three hours from now.
      const skewed = await cli(['run', ...args, '--once-per', '1h', name, '--', 'node', '-e', 'console.log(Date.now())'], {
        env: { LD_PRELOAD: FAKETIME, FAKETIME: '+3h', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
      });
      assert.equal(skewed.code, 0, skewed.stderr);
      assert.ok(Number(skewed.stdout) - before > 2.9 * HOUR, `libfaketime does not shift Node's clock here: ${skewed.stdout}`);
      const { lastRun: record } = JSON.parse((await cli(['status', ...(query ?? args), '--json', name])).stdout);
      const start = Date.parse(record.window.start);
      assert.ok(start <= before && before < start + HOUR + 60_000, `window ${record.window.start} does not contain the real time ${new Date(before).toISOString()}`);
      assert.ok(Math.abs(Date.parse(record.startedAt) - before) < 10 * 60_000, `start ${record.startedAt} was taken from the skewed clock`);
    });

    test('library: AlreadyRanError carries the last run; lock.run and lastRun() the record', async () => {
      const name = lockName('lib');
      const { options } = where();
      const lock = await acquire(name, { ...options, oncePer: 24 * HOUR });
      assert.equal(lock.run.endedAt, null);
      assert.ok(lock.run.window.start <= lock.run.startedAt && lock.run.startedAt < lock.run.window.end);
      lock.recordExit(2);
      await lock.release();
      assert.equal(lock.run.exit, 2);
      await assert.rejects(acquire(name, { ...options, oncePer: 24 * HOUR }), (error) => {
        assert.ok(error instanceof AlreadyRanError);
        assert.equal(error.code, 'ERR_ALREADY_RAN');
        assert.equal(error.lastRun.exit, 2);
        assert.equal(error.lastRun.pid, process.pid);
        return true;
      });
      // The refused acquire released the lock.
      await withLock(name, () => {}, options);
      await assert.rejects(withLock(name, () => { throw new Error('job failed'); }, { ...options, oncePer: 24 * HOUR, retryFailed: true }), /job failed/u);
      assert.equal((await lastRun(name, options)).exit, 1);
    });
  });
}

describe('once per window on lockfile: a damaged record', () => {
  test('is an error, never "never ran"', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'onlyone-once-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const name = lockName('damaged');
    assert.equal((await cli(['run', '--backend', 'lockfile', '--dir', dir, '--once-per', '1d', name, '--', 'true'])).code, 0);
    writeFileSync(join(dir, `${name}.runs`), '{"name": "half a rec');
    const result = await cli(['run', '--backend', 'lockfile', '--dir', dir, '--once-per', '1d', name, '--', 'echo', 'ran']);
    assert.equal(result.code, 69);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^onlyone: the run record .*\.runs is damaged; delete it to let the next run start\n$/u);
  });
});

describe('once per window on abstract', () => {
  test('is a clear usage error that names the backends that work', async () => {
    const result = await cli(['run', '--backend', 'abstract', '--once-per', '1d', lockName('abs'), '--', 'true']);
    assert.equal(result.code, 64);
    assert.match(result.stderr, /^onlyone: --once-per needs a backend that stores run records, 'lockfile', 'postgres' or 'etcd'; the 'abstract' backend has no storage/u);
    await assert.rejects(acquire(lockName('abs'), { backend: 'abstract', oncePer: 1000 }), { code: 'ERR_INVALID_OPTION' });
  });

  test('bad values are one-line usage errors', async () => {
    for (const [args, message] of [
      [['--once-per', 'soon'], /--once-per takes a duration/u],
      [['--once-per', '0'], /--once-per takes a duration greater than 0/u],
      [['--offset', '1h'], /--offset needs --once-per/u],
      [['--once-per', '1d', '--tz', 'Mars/Olympus'], /unknown time zone/u],
      [['--once-per', '1d', '--keep-running'], /--once-per and --keep-running cannot be used together/u],
    ]) {
      const result = await cli(['run', '--backend', 'lockfile', ...args, lockName('bad'), '--', 'true']);
      assert.equal(result.code, 64, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
