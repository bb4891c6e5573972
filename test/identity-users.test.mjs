// Identity across two real users: root (this process) and an unprivileged user created for the tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquire, lockAddress, status, tryAcquire } from '../dist/index.js';
import { lockName } from './helpers.mjs';
import { actor, actorResult, isRoot, testUser, TEST_USER } from './identity-helpers.mjs';

const skip = isRoot ? false : 'needs root to create a second user and run processes as that user';
if (!isRoot) console.log(`# SKIPPED identity-users tests: ${skip}`);

test('a root holder is reported as uid 0 / root, verified, to an unprivileged contender', { skip }, async () => {
  const user = testUser();
  const name = lockName('idroot');
  const holder = actor(['hold', name, '{"scope":"system"}']);
  const { pid } = await holder.events.next();
  try {
    const { holder: seen } = await actorResult(['status', name, '{"scope":"system"}'], { user });
    assert.equal(seen.pid, pid);
    assert.equal(seen.uid, 0);
    assert.equal(seen.user, 'root');
    assert.equal(seen.verified, true, seen.unverifiedReason);
    // The same contender without koffi: /proc/PID/fd of root is unreadable, so the claim stays unconfirmed.
    const { holder: blind } = await actorResult(['status', name, '{"scope":"system"}'], { user, env: { ONLYONE_NO_KOFFI: '1' } });
    assert.equal(blind.pid, pid);
    assert.equal(blind.verified, false);
    assert.match(blind.unverifiedReason, new RegExp(`/proc/${pid}/fd is not readable by uid ${user.uid}`, 'u'));
    assert.match(blind.unverifiedReason, /ONLYONE_NO_KOFFI/u);
  } finally {
    await holder.end();
  }
});

test('a squatter in the victim\'s user scope gives ERR_LOCK_SQUATTED naming its uid and user, not ERR_LOCK_BUSY', { skip }, async () => {
  const user = testUser();
  const name = lockName('idsquat');
  const squatter = actor(['squat', name, '0'], { user });
  const { pid } = await squatter.events.next();
  try {
    for (const attempt of [() => acquire(name), () => tryAcquire(name), () => acquire(name, { wait: true, timeoutMs: 10_000 })]) {
      await assert.rejects(attempt(), (error) => {
        assert.equal(error.code, 'ERR_LOCK_SQUATTED');
        assert.equal(error.name, 'LockSquattedError');
        assert.match(error.message, new RegExp(`uid ${user.uid} \\(${TEST_USER}\\)`, 'u'));
        assert.match(error.message, /any local user can bind/u);
        assert.equal(error.holder.pid, pid);
        assert.equal(error.holder.uid, user.uid);
        assert.equal(error.holder.verified, true);
        return true;
      });
    }
    // status reports the squatter too, as squatted, naming who holds it.
    await assert.rejects(status(name, { helloTimeoutMs: 300 }), (error) => {
      assert.equal(error.code, 'ERR_LOCK_SQUATTED');
      assert.equal(error.holder.uid, user.uid);
      assert.equal(error.holder.squatted, true);
      return true;
    });
  } finally {
    await squatter.end();
  }
  // Once the squatter is gone the victim gets its lock.
  const lock = await acquire(name);
  await lock.release();
});

test('root squatting a user\'s scope is reported to that user as squatted by uid 0 (root)', { skip }, async () => {
  const user = testUser();
  const name = lockName('idsquat2');
  const squatter = actor(['squat', name, String(user.uid)]);
  await squatter.events.next();
  try {
    const result = await actorResult(['acquire', name, '{}'], { user });
    assert.equal(result.code, 'ERR_LOCK_SQUATTED', result.message);
    assert.match(result.message, /uid 0 \(root\)/u);
  } finally {
    await squatter.end();
  }
});

test('a foreign user\'s message and release requests are refused with forbidden while the lock stays held; allowUids admits it', { skip }, async () => {
  const user = testUser();
  const name = lockName('idforbid');
  const holder = actor(['hold', name, '{"scope":"system"}']);
  const { pid } = await holder.events.next();
  try {
    for (const type of ['message', 'release']) {
      const { hello, answer } = await actorResult(['request', name, '{"scope":"system"}', type], { user });
      assert.equal(hello.type, 'hello', 'hello stays open to everyone');
      assert.equal(answer.type, 'error');
      assert.equal(answer.code, 'forbidden');
      assert.equal(answer.id, 7);
      assert.match(answer.message, new RegExp(`uid ${user.uid}`, 'u'));
    }
    const { answer: pong } = await actorResult(['request', name, '{"scope":"system"}', 'ping'], { user });
    assert.equal(pong.type, 'pong', 'ping stays open to everyone');
    const still = await status(name, { scope: 'system' });
    assert.equal(still.pid, pid);
    assert.equal(still.verified, true);
  } finally {
    await holder.end();
  }
  const open = actor(['hold', name, JSON.stringify({ scope: 'system', allowUids: [user.uid] })]);
  await open.events.next();
  try {
    const { answer } = await actorResult(['request', name, '{"scope":"system"}', 'message'], { user });
    assert.equal(answer.type, 'reply', JSON.stringify(answer));
    assert.deepEqual(answer.data.from.uid, user.uid);
    assert.equal(answer.data.from.verified, true);
  } finally {
    await open.end();
  }
});

test('in system scope a foreign holder is busy, reported with its verified uid; expectedUid makes it squatted', { skip }, async () => {
  const user = testUser();
  const name = lockName('idsys');
  const holder = actor(['hold', name, '{"scope":"system"}'], { user });
  const { pid } = await holder.events.next();
  try {
    await assert.rejects(acquire(name, { scope: 'system' }), (error) => {
      assert.equal(error.code, 'ERR_LOCK_BUSY');
      assert.equal(error.holder.pid, pid);
      assert.equal(error.holder.uid, user.uid);
      assert.equal(error.holder.user, TEST_USER);
      assert.equal(error.holder.verified, true);
      return true;
    });
    await assert.rejects(acquire(name, { scope: 'system', expectedUid: 0 }), { code: 'ERR_LOCK_SQUATTED', message: new RegExp(`uid ${user.uid} \\(${TEST_USER}\\)`, 'u') });
  } finally {
    await holder.end();
  }
});

test('fd handoff by another user: root sees the live child holder, verified', { skip }, async () => {
  const user = testUser();
  const name = lockName('idhandoffu');
  const { child } = await actorResult(['handoff', name, '{"scope":"system"}'], { user });
  try {
    const seen = await status(name, { scope: 'system', helloTimeoutMs: 300 });
    assert.equal(seen.pid, child);
    assert.equal(seen.uid, user.uid);
    assert.equal(seen.verified, true, seen.unverifiedReason);
    // The unprivileged user sees its own child too.
    const { holder: own } = await actorResult(['status', name, '{"scope":"system","helloTimeoutMs":300}'], { user });
    assert.equal(own.pid, child);
    assert.equal(own.verified, true, own.unverifiedReason);
  } finally {
    process.kill(child, 'SIGKILL');
  }
});

test('squatting is detected without koffi (through /proc, as root) and by a socket that binds without listening', { skip }, async () => {
  const user = testUser();
  const name = lockName('idsquat3');
  const squatter = actor(['squat', name, '0'], { user });
  await squatter.events.next();
  try {
    const result = await actorResult(['try', name, '{}'], { env: { ONLYONE_NO_KOFFI: '1' } });
    assert.equal(result.koffiLoaded, false);
    assert.equal(result.code, 'ERR_LOCK_SQUATTED', result.message);
  } finally {
    await squatter.end();
  }
  // A C-style binder that never listens: nothing to connect to, but the bound socket is still in /proc.
  const { spawn } = await import('node:child_process');
  const body = lockAddress(name, 'user', 'onlyone/v1/', 0).slice(1).replace(/\0+$/u, '');
  const script = "import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\nb=sys.argv[1].encode()\ns.bind(b'\\0'+b+b'\\0'*(107-len(b)))\nprint('bound',flush=True)\ntime.sleep(60)";
  const binder = spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '/usr/bin/python3', '-c', script, body], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    binder.stdout.once('data', resolve);
    binder.once('exit', (code) => reject(new Error(`binder exited with ${code}`)));
  });
  try {
    await assert.rejects(acquire(name), (error) => {
      assert.equal(error.code, 'ERR_LOCK_SQUATTED', error.message);
      assert.equal(error.holder.pid, binder.pid, 'setpriv execs python in place');
      assert.equal(error.holder.uid, user.uid);
      assert.deepEqual(error.holder.argv.slice(0, 2), ['/usr/bin/python3', '-c']);
      return true;
    });
  } finally {
    binder.kill('SIGKILL');
  }
});

test('a holder in another pid namespace (same network namespace) is reported with the pid we see, not the one it claims', { skip }, async () => {
  const { spawn } = await import('node:child_process');
  const { fixture, jsonLines } = await import('./helpers.mjs');
  const name = lockName('idpidns');
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, fixture('identity-actor.mjs'), 'hold', name, '{"scope":"system"}'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const { pid: claimed } = await jsonLines(child.stdout).next(20_000);
    assert.equal(claimed, 1, 'inside its namespace the holder is pid 1');
    for (const env of [{}, { ONLYONE_NO_KOFFI: '1' }]) {
      const { holder } = await actorResult(['status', name, '{"scope":"system"}'], { env });
      assert.notEqual(holder.pid, 1);
      assert.equal(holder.verified, true, holder.unverifiedReason);
      assert.equal(holder.cmdline[1], fixture('identity-actor.mjs'));
    }
  } finally {
    child.stdin.end();
    await exited;
  }
});

test('a holder in another network namespace is invisible: the same name is free here (the documented limit)', { skip }, async () => {
  const { spawn } = await import('node:child_process');
  const { fixture, jsonLines } = await import('./helpers.mjs');
  const name = lockName('idnetns');
  const child = spawn('unshare', ['--net', process.execPath, fixture('identity-actor.mjs'), 'hold', name, '{}'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    assert.equal((await jsonLines(child.stdout).next(20_000)).acquired, true);
    assert.equal(await status(name), undefined);
    const lock = await acquire(name);
    await lock.release();
  } finally {
    child.stdin.end();
    await exited;
  }
});

test('CLI: a squatter makes `onlyone run` exit 77 naming it; --expect-user makes a foreign system-scope holder a squatter', { skip }, async () => {
  const { spawnSync } = await import('node:child_process');
  const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
  const onlyone = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  const user = testUser();
  const name = lockName('idcli');
  const squatter = actor(['squat', name, '0'], { user });
  await squatter.events.next();
  try {
    const run = onlyone('run', name, '--', 'true');
    assert.equal(run.status, 77, run.stderr);
    assert.match(run.stderr, new RegExp(`uid ${user.uid} \\(${TEST_USER}\\)`, 'u'));
    assert.match(run.stderr, /squatted/u);
    const waiting = onlyone('run', '--wait', '10', name, '--', 'true');
    assert.equal(waiting.status, 77, waiting.stderr);
  } finally {
    await squatter.end();
  }
  const holder = actor(['hold', name, '{"scope":"system"}'], { user });
  await holder.events.next();
  try {
    const expectRoot = onlyone('run', '--scope', 'system', '--expect-user', 'root', name, '--', 'true');
    assert.equal(expectRoot.status, 77, expectRoot.stderr);
    assert.match(expectRoot.stderr, /only uid 0 \(root\) is expected to hold it \(--expect-user\)/u);
    assert.doesNotMatch(expectRoot.stderr, /expectedUid/u, 'the CLI names its flag, not the library option');
    const expectThem = onlyone('run', '--scope', 'system', '--expect-user', TEST_USER, name, '--', 'true');
    assert.equal(expectThem.status, 75, expectThem.stderr);
    const byUid = onlyone('run', '--scope=system', `--expect-user=${user.uid}`, name, '--', 'true');
    assert.equal(byUid.status, 75, byUid.stderr);
  } finally {
    await holder.end();
  }
});
