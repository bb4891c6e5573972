// --expect-user / expectedUid, and user-scope squatting, enforced by every command with exit 77; a holder of
// another uid is never messaged, asked to release, signalled or replaced (issue 12, item 3). Real second uid.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { send, status, stop } from '../dist/index.js';
import { cli } from './cli-helpers.mjs';
import { lockName, startHolder } from './helpers.mjs';
import { actor, isRoot, testUser } from './identity-helpers.mjs';

const skip = isRoot ? false : 'needs root to create a second user and run processes as that user';

test('another uid\'s holder, under --expect-user root: every command exits 77 and nothing reaches the holder', { skip, timeout: 120_000 }, async () => {
  const user = testUser();
  const name = lockName('expect');
  const holder = actor(['watch', name, '{"scope":"system"}'], { user });
  const { pid } = await holder.events.next();
  /** Every event the holder reported since it acquired: messages, release requests, signals. */
  const heard = async () => {
    const events = [];
    for (;;) {
      const event = await holder.events.next(300).catch(() => undefined);
      if (event === undefined) return events.map(({ koffiLoaded: _, ...rest }) => rest);
      events.push(event);
    }
  };
  const sys = ['--scope', 'system', '--expect-user', 'root'];
  try {
    const json = await cli(['status', name, ...sys, '--json']);
    assert.equal(json.code, 77, json.stderr);
    const seen = JSON.parse(json.stdout);
    assert.equal(seen.squatted, true);
    assert.equal(seen.expectedUid, 0);
    assert.equal(seen.uid, user.uid);
    assert.equal(seen.pid, pid);
    const text = await cli(['status', name, ...sys]);
    assert.equal(text.code, 77);
    assert.match(text.stderr, /squatted/u);
    const listed = await cli(['list', ...sys, '--json']);
    assert.equal(listed.code, 77, listed.stderr);
    const entry = JSON.parse(listed.stdout).find((h) => h.name === name);
    assert.equal(entry.squatted, true);
    assert.equal(entry.expectedUid, 0);
    for (const args of [
      ['send', name, ...sys, '--json', '"hello"'],
      ['stop', name, ...sys, '--timeout', '0.5', '--kill-after', '0.5'],
      ['run', '--replace', '--grace', '0.5', ...sys, name, '--', 'true'],
      ['run', '--forward', ...sys, name, '--', 'true'],
      ['wait', name, ...sys, '--timeout', '2'],
    ]) {
      const run = await cli(args);
      assert.equal(run.code, 77, `${args.join(' ')}: ${run.code} ${run.stderr}`);
      assert.match(run.stderr, /squatted/u, args.join(' '));
    }
    // Library: the same checks.
    await assert.rejects(status(name, { scope: 'system', expectedUid: 0 }), { code: 'ERR_LOCK_SQUATTED' });
    await assert.rejects(send(name, 'hello', { scope: 'system', expectedUid: 0 }), { code: 'ERR_LOCK_SQUATTED' });
    await assert.rejects(stop(name, { scope: 'system', expectedUid: 0, graceMs: 200, killAfterMs: 200 }), { code: 'ERR_LOCK_SQUATTED' });
    // Without --expect-user, system scope lets anyone hold it: root may message it, which proves the path works.
    const plain = await cli(['send', name, '--scope', 'system', '--json', '"allowed"']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(await heard(), [{ message: 'allowed' }]);
    assert.equal(holder.child.exitCode, null, 'the holder is still running');
  } finally {
    await holder.end();
  }
});

test('a user-scope lock squatted by another uid: status and list say squatted (exit 77) without --expect-user', { skip }, async () => {
  const user = testUser();
  const name = lockName('squat-ls');
  const squatter = actor(['squat', name, '0'], { user });
  await squatter.events.next();
  try {
    const json = await cli(['status', name, '--json']);
    assert.equal(json.code, 77, json.stdout + json.stderr);
    assert.equal(JSON.parse(json.stdout).squatted, true);
    assert.equal(JSON.parse(json.stdout).uid, user.uid);
    const listed = await cli(['list', '--json']);
    assert.equal(listed.code, 77);
    assert.equal(JSON.parse(listed.stdout).find((h) => h.name === name)?.squatted, true);
    const text = await cli(['list']);
    assert.match(text.stdout.split('\n').find((line) => line.startsWith(name)) ?? '', /squatter/u);
  } finally {
    await squatter.end();
  }
});

test('our own holder, under --expect-user of another user: stop and send exit 77 and it keeps the lock', { skip }, async () => {
  const user = testUser();
  const name = lockName('expect-own');
  const holder = startHolder(name, { mode: 'polite' });
  assert.equal((await holder.events.next()).event, 'acquired');
  try {
    for (const args of [['stop', name, '--expect-user', user.name, '--timeout', '0.5'], ['send', name, '--expect-user', String(user.uid)], ['status', name, '--expect-user', user.name]]) {
      const run = await cli(args);
      assert.equal(run.code, 77, `${args.join(' ')}: ${run.stderr}`);
    }
    const still = await cli(['status', name, '--json']);
    assert.equal(JSON.parse(still.stdout).pid, holder.pid);
    assert.equal(JSON.parse(still.stdout).squatted, false);
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});

test('lockfile in a shared directory: another uid\'s holder, under --expect-user root, is squatted for run, wait, stop and send', { skip, timeout: 60_000 }, async () => {
  const user = testUser();
  const name = lockName('expect-lf');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-shared-'));
  chmodSync(dir, 0o1777);
  const options = { backend: 'lockfile', dir, scope: 'system' };
  const holder = actor(['watch', name, JSON.stringify(options)], { user });
  try {
    const first = await holder.events.next();
    assert.equal(first.acquired, true, JSON.stringify(first));
    const where = ['--backend', 'lockfile', '--dir', dir, '--scope', 'system', '--expect-user', 'root'];
    for (const args of [['run', ...where, name, '--', 'true'], ['wait', name, ...where, '--timeout', '2'], ['stop', name, ...where, '--timeout', '0.5'], ['send', name, ...where], ['status', name, ...where]]) {
      const run = await cli(args);
      assert.equal(run.code, 77, `${args[0]}: ${run.code} ${run.stderr}`);
    }
    assert.equal(holder.child.exitCode, null, 'the holder is still running');
  } finally {
    await holder.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
