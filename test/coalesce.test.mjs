// --coalesce: triggers during a run never fail and never overlap it; any number of them give exactly one more run,
// with the latest trigger's command. On one machine they reach the holder through its socket (a `rerun` frame).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startCli } from './cli-helpers.mjs';
import { BACKENDS, backendOptions, delay, distEntry, fixture, lockName, rawClient } from './helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const { acquire, requestRerun, lockAddress, DEFAULT_PREFIX } = await import(distEntry);

function scratch(t) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-coalesce-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A job that logs its start and end (date +%s%N); the run called `first` lasts 2 s and then until `gate` exists. */
function job(dir, id) {
  const log = join(dir, 'log');
  const gate = join(dir, 'gate');
  return ['sh', '-c', `echo "start ${id} $(date +%s%N)" >> '${log}'; if [ ${id} = first ]; then sleep 2; while [ ! -e '${gate}' ]; do sleep 0.05; done; fi; sleep 0.2; echo "end ${id} $(date +%s%N)" >> '${log}'`];
}

function runs(dir) {
  const lines = readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean).map((line) => line.split(' '));
  const starts = lines.filter(([kind]) => kind === 'start').map(([, id, ns]) => ({ id, start: BigInt(ns) }));
  const ends = new Map(lines.filter(([kind]) => kind === 'end').map(([, id, ns]) => [id, BigInt(ns)]));
  return starts.map((run) => ({ ...run, end: ends.get(run.id) }));
}

const pgUnavailable = postgresUnavailable();
let server;
before(async () => {
  if (!pgUnavailable) server = await startPostgres();
});
after(() => server?.stop());

function libraryOptions(kind) {
  return kind === 'postgres' ? { backend: 'postgres', url: server.url } : backendOptions(kind);
}

function lockArgs(kind) {
  if (kind === 'postgres') return ['--backend', server.url];
  const { dir } = backendOptions(kind);
  return ['--backend', kind, ...(dir === undefined ? [] : ['--dir', dir])];
}

// postgres has no socket to the holder: the pending rerun lives in the onlyone_reruns table.
for (const kind of [...BACKENDS, 'postgres']) {
  describe(`run --coalesce (${kind})`, { skip: kind === 'postgres' && pgUnavailable }, () => {
    test('50 triggers from 10 processes during a run give exactly one more run, with the last trigger\'s argv', { timeout: 120_000 }, async (t) => {
      const name = lockName('coalesce');
      const dir = scratch(t);
      const args = lockArgs(kind);
      const holder = startCli(['run', ...args, '--coalesce', name, '--', ...job(dir, 'first')]);
      t.after(() => holder.child.kill('SIGKILL'));
      while (!existsSync(join(dir, 'log'))) await delay(20);
      // 10 trigger processes, 5 triggers each, all at once: each takes the lock's conflict, then asks for a rerun.
      const script = job(dir, '@ID@')[2];
      const replies = await Promise.all(Array.from({ length: 10 }, async (_, p) => {
        const child = spawn(process.execPath, [fixture('trigger.mjs'), name, JSON.stringify(libraryOptions(kind)), `t${p}`, '5', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
        const [code] = await once(child, 'exit');
        assert.equal(code, 0);
        return out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      }));
      // Only now may the first run end: every trigger has arrived during it, however loaded the machine is.
      writeFileSync(join(dir, 'gate'), '');
      const ended = await holder.done;
      assert.equal(ended.code, 0, ended.stderr);
      const triggers = replies.flat();
      assert.equal(triggers.length, 50);
      for (const trigger of triggers) assert.equal(trigger.accepted, true, JSON.stringify(trigger));
      assert.deepEqual(triggers.map((trigger) => trigger.triggers).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
      const last = triggers.find((trigger) => trigger.triggers === 50);
      const all = runs(dir);
      assert.deepEqual(all.map((run) => run.id), ['first', last.id]);
      assert.ok(all[1].start >= all[0].end, 'the rerun overlapped the first run');
      assert.match(ended.stderr, /running .* once more for 50 triggers/u);
    });

    test('CLI triggers: each exits 0 at once and says so; the last one\'s command runs', async (t) => {
      const name = lockName('cli');
      const dir = scratch(t);
      const args = lockArgs(kind);
      const holder = startCli(['run', ...args, '--coalesce', name, '--', ...job(dir, 'first')]);
      t.after(() => holder.child.kill('SIGKILL'));
      while (!existsSync(join(dir, 'log'))) await delay(20);
      for (const id of ['c1', 'c2', 'c3']) {
        const trigger = await cli(['run', ...args, '--coalesce', name, '--', ...job(dir, id)]);
        assert.equal(trigger.code, 0, trigger.stderr);
        assert.match(trigger.stderr, new RegExp(`^onlyone: ${name} is running; it will run once more when it ends \\(trigger ${id.slice(1)} for that run\\)\n$`, 'u'));
      }
      writeFileSync(join(dir, 'gate'), '');
      assert.equal((await holder.done).code, 0);
      assert.deepEqual(runs(dir).map((run) => run.id), ['first', 'c3']);
    });

    test('--wait waits for the rerun and exits with its status', { skip: kind === 'postgres' && 'a usage error on postgres (tested below)' }, async (t) => {
      const name = lockName('wait');
      const dir = scratch(t);
      const args = lockArgs(kind);
      const holder = startCli(['run', ...args, '--coalesce', name, '--', ...job(dir, 'first')]);
      t.after(() => holder.child.kill('SIGKILL'));
      while (!existsSync(join(dir, 'log'))) await delay(20);
      const waiting = cli(['run', ...args, '--coalesce', '--wait', name, '--', 'sh', '-c', 'echo rerun; exit 7']);
      // The gate opens only once the waiter's trigger is in: more triggers (same command) count the triggers so far.
      const rerun = ['sh', '-c', 'echo rerun; exit 7'];
      for (let polls = 1; ; polls++) {
        const poll = await cli(['run', ...args, '--coalesce', name, '--', ...rerun]);
        if (Number(/trigger (\d+) for/u.exec(poll.stderr)?.[1]) === polls + 1) break;
        await delay(50);
      }
      writeFileSync(join(dir, 'gate'), '');
      const result = await waiting;
      assert.equal(result.code, 7, result.stderr);
      assert.equal((await holder.done).stdout, 'rerun\n');
    });

    test('a holder started without --coalesce is a conflict, and a free lock just runs', async (t) => {
      const name = lockName('plain');
      const dir = scratch(t);
      const args = lockArgs(kind);
      const holder = startCli(['run', ...args, name, '--', ...job(dir, 'first')]);
      t.after(() => holder.child.kill('SIGKILL'));
      while (!existsSync(join(dir, 'log'))) await delay(20);
      const refused = await cli(['run', ...args, '--coalesce', name, '--', 'true']);
      assert.equal(refused.code, 75, refused.stderr);
      assert.match(refused.stderr, /is already running, and its holder was not started with --coalesce\n$/u);
      writeFileSync(join(dir, 'gate'), '');
      await holder.done;
      const alone = await cli(['run', ...args, '--coalesce', name, '--', 'sh', '-c', 'echo alone']);
      assert.equal(alone.code, 0, alone.stderr);
      assert.equal(alone.stdout, 'alone\n');
    });
  });
}

describe('library coalesce', () => {
  test('takeRerun hands over the latest trigger once, then turns triggers away to race for the lock', async () => {
    const name = lockName('lib');
    const seen = [];
    const lock = await acquire(name, { coalesce: true, onRerunRequest: (pending) => seen.push(pending.triggers) });
    assert.deepEqual(await requestRerun(name, { argv: ['a'], cwd: '/' }), { accepted: true, triggers: 1 });
    assert.deepEqual(await requestRerun(name, { argv: ['b'], cwd: '/tmp', env: { X: '1' } }), { accepted: true, triggers: 2 });
    assert.deepEqual(seen, [1, 2]);
    const waiter = requestRerun(name, { argv: ['c'], wait: true });
    await delay(100);
    const next = await lock.takeRerun();
    assert.deepEqual([...next.argv], ['c']);
    assert.equal(next.triggers, 3);
    assert.equal(next.env, undefined);
    next.settle(4);
    assert.deepEqual(await waiter, { accepted: true, triggers: 3, exit: 4 });
    assert.equal(await lock.takeRerun(), undefined);
    // From now on the holder is about to release: a trigger is told to take the lock itself.
    assert.deepEqual(await requestRerun(name, { argv: ['d'] }), { accepted: false });
    await lock.release();
    await assert.rejects(requestRerun(name, { argv: ['e'] }), { code: 'ERR_NOT_HELD' });
  });

  test('a holder without coalesce answers not_supported; a malformed rerun frame is bad_frame', async () => {
    const name = lockName('raw');
    const plain = await acquire(name);
    await assert.rejects(requestRerun(name, { argv: ['x'] }), { code: 'ERR_REMOTE', remoteCode: 'not_supported' });
    await plain.release();
    const lock = await acquire(name, { coalesce: true });
    const client = rawClient(lockAddress(name, 'user', DEFAULT_PREFIX, process.getuid()));
    await client.frame(0);
    for (const [id, frame] of [[1, { argv: [] }], [2, { argv: ['x', 1] }], [3, { argv: ['x'], env: { A: 1 } }], [4, { argv: ['x'], wait: 'yes' }], [5, { argv: ['x'], env: ['A=1'] }]]) {
      client.write(`${JSON.stringify({ type: 'rerun', id, ...frame })}\n`);
      const answer = await client.frame((f) => f.id === id);
      assert.equal(answer.type, 'error');
      assert.equal(answer.code, 'bad_frame');
    }
    client.socket.destroy();
    assert.equal(await lock.takeRerun(), undefined);
    await lock.release();
  });

  test('postgres: --coalesce --wait is a usage error; requestRerun with wait an InvalidOptionError', { skip: pgUnavailable }, async () => {
    const result = await cli(['run', '--backend', server.url, '--coalesce', '-w', lockName('pgwait'), '--', 'true']);
    assert.equal(result.code, 64);
    assert.match(result.stderr, /--coalesce --wait needs a backend whose holder answers on a socket/u);
    await assert.rejects(requestRerun(lockName('pgwait'), { backend: 'postgres', url: server.url, argv: ['x'], wait: true }), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(requestRerun(lockName('pgfree'), { backend: 'postgres', url: server.url, argv: ['x'] }), { code: 'ERR_NOT_HELD' });
  });
});
