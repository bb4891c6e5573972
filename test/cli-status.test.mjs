// `onlyone status`, `list` and `wait` through the built CLI, in text and --json.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { userInfo } from 'node:os';
import { lockName } from './helpers.mjs';
import { cli, holdWithCli, startCli } from './cli-helpers.mjs';

const user = userInfo().username;
const uid = process.getuid();
// Every field of the library's Holder, plus held, squatted and expectedUid: the README's stable schema.
const JSON_KEYS = ['name', 'scope', 'slot', 'held', 'backend', 'pid', 'uid', 'user', 'hostname', 'argv', 'cmdline', 'cwd', 'acquiredAt', 'heldForMs', 'startTime', 'holderPids', 'protocol', 'silentReason', 'verified', 'unverifiedReason', 'fence', 'squatted', 'expectedUid'];

test('status of a free lock: exit 1, text and --json', async () => {
  const name = lockName('cli-status-free');
  const text = await cli(['status', name]);
  assert.deepEqual([text.code, text.stdout, text.stderr], [1, `${name} is free\n`, '']);
  const json = await cli(['status', '--json', name]);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), {
    name, scope: 'user', slot: null, held: false, backend: null, pid: null, uid: null, user: null, hostname: null, argv: [], cmdline: null,
    cwd: null, acquiredAt: null, heldForMs: null, startTime: null, holderPids: null, protocol: null, silentReason: null, verified: false, unverifiedReason: null, fence: null,
    squatted: false, expectedUid: uid,
  });
});

test('status of a held lock: exit 0, who holds it, in text and --json', async () => {
  const name = lockName('cli-status-held');
  const holder = await holdWithCli(name, ['--scope', 'system']);
  try {
    const text = await cli(['status', '--scope', 'system', name]);
    assert.equal(text.code, 0);
    const lines = text.stdout.split('\n');
    assert.match(lines[0], new RegExp(`^${name} is held \\(pid ${holder.child.pid}, user ${user}, 'sh -c .*', for \\d+s\\)$`));
    assert.ok(lines.includes(`  command:  sh -c ${JSON.stringify(holder.script)}`), text.stdout);
    assert.ok(lines.includes(`  cwd:      ${process.cwd()}`), text.stdout);
    assert.ok(lines.includes('  backend:  abstract'), text.stdout);

    const json = await cli(['status', name, '--json', '--scope', 'system']);
    assert.equal(json.code, 0);
    const parsed = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(parsed), JSON_KEYS);
    assert.equal(parsed.name, name);
    assert.equal(parsed.scope, 'system');
    assert.equal(parsed.held, true);
    assert.equal(parsed.pid, holder.child.pid);
    assert.equal(parsed.uid, uid);
    assert.equal(parsed.user, user);
    assert.deepEqual(parsed.argv, ['sh', '-c', holder.script]);
    assert.equal(parsed.cwd, process.cwd());
    assert.equal(parsed.backend, 'abstract');
    assert.equal(parsed.protocol, 1);
    assert.ok(Number.isInteger(parsed.startTime) && parsed.startTime > 0);
    assert.equal(parsed.slot, null);
    assert.equal(parsed.squatted, false);
    assert.equal(parsed.expectedUid, null, 'system scope: any uid may hold it');
    assert.ok(Number.isInteger(parsed.heldForMs) && parsed.heldForMs >= 0);
    assert.ok(Math.abs(Date.parse(parsed.acquiredAt) - Date.now()) < 60_000);

    // The same name in user scope is another lock.
    assert.equal((await cli(['status', name])).code, 1);
  } finally {
    await holder.release();
  }
  assert.equal((await cli(['status', '--scope', 'system', name])).code, 1);
});

test('list shows every held lock under the prefix, in text and --json', async () => {
  const prefix = `test-cli-list-${randomBytes(4).toString('hex')}/`;
  const empty = await cli(['list', '--prefix', prefix]);
  assert.deepEqual([empty.code, empty.stdout], [0, '']);
  assert.deepEqual(JSON.parse((await cli(['list', '--json', '--prefix', prefix])).stdout), []);

  const a = await holdWithCli('alpha', ['--prefix', prefix]);
  const b = await holdWithCli('beta', ['--prefix', prefix]);
  try {
    const text = await cli(['list', '--prefix', prefix]);
    assert.equal(text.code, 0);
    const [header, first, second, ...rest] = text.stdout.trimEnd().split('\n');
    assert.match(header, /^NAME\s+PID\s+USER\s+HELD\s+COMMAND$/);
    assert.match(first, new RegExp(`^alpha\\s+${a.child.pid}\\s+${user}\\s+\\d+s\\s+sh -c "echo ready;`));
    assert.match(second, new RegExp(`^beta\\s+${b.child.pid}\\s+${user}\\s+\\d+s\\s+sh -c "echo ready;`));
    assert.deepEqual(rest, []);

    const json = JSON.parse((await cli(['list', '--prefix', prefix, '--json'])).stdout);
    assert.deepEqual(json.map((lock) => [lock.name, lock.pid, lock.held, lock.scope]), [['alpha', a.child.pid, true, 'user'], ['beta', b.child.pid, true, 'user']]);
    for (const lock of json) assert.deepEqual(Object.keys(lock), JSON_KEYS);
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
  assert.equal((await cli(['list', '--prefix', prefix])).stdout, '');
});

test('wait returns 0 at once when free, 0 when the holder ends, 75 on timeout', async () => {
  const name = lockName('cli-wait-cmd');
  assert.equal((await cli(['wait', name])).code, 0);
  const holder = await holdWithCli(name);
  try {
    const started = performance.now();
    const timedOut = await cli(['wait', name, '--timeout', '0.3']);
    assert.equal(timedOut.code, 75);
    assert.ok(performance.now() - started >= 250);
    assert.match(timedOut.stderr, new RegExp(`^onlyone: ${name} is still running after waiting 0.3s \\(pid ${holder.child.pid}, `));
    assert.deepEqual(await cli(['wait', '-q', '--timeout', '0', name]).then((r) => [r.code, r.stderr]), [75, '']);
    const waiter = startCli(['wait', name]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(waiter.child.exitCode, null, 'still waiting while held');
    await holder.release();
    const done = await waiter.done;
    assert.deepEqual([done.code, done.stdout, done.stderr], [0, '', '']);
  } finally {
    await holder.release();
  }
});
