// `onlyone run` through the built CLI, with real processes: conflicts, waiting, signals, fd inheritance.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { cli, cliPath, holdWithCli, startCli } from './cli-helpers.mjs';
import { spawnSync } from 'node:child_process';
import { isRoot, runnableFor, testUser } from './identity-helpers.mjs';

const user = userInfo().username;
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a conflict says who holds the lock and exits 75; -E changes the code, -q silences it', async () => {
  const name = lockName('cli-conflict');
  const holder = await holdWithCli(name);
  try {
    const refused = await cli(['run', name, '--', 'true']);
    assert.equal(refused.code, 75);
    const line = new RegExp(`^onlyone: ${escape(name)} is already running \\(pid ${holder.child.pid}, user ${escape(user)}, 'sh -c ${escape(JSON.stringify(holder.script))}', for \\d+s\\)\\n$`);
    assert.match(refused.stderr, line);
    assert.equal(refused.stdout, '');

    const custom = await cli(['run', '-E', '3', name, '--', 'true']);
    assert.equal(custom.code, 3);
    assert.match(custom.stderr, /is already running/);

    const quiet = await cli(['run', '-q', '-E', '0', name, '--', 'true']);
    assert.deepEqual([quiet.code, quiet.stderr], [0, '']);
    const quietDefault = await cli(['run', '--quiet', name, '--', 'true']);
    assert.deepEqual([quietDefault.code, quietDefault.stderr], [75, '']);
  } finally {
    await holder.release();
  }
  const after = await cli(['run', name, '--', 'true']);
  assert.equal(after.code, 0);
});

test('the command runs holding the lock, gets ONLYONE_* and fd 3, and its exit status comes back', async () => {
  const name = lockName('cli-env');
  const script = 'echo "$ONLYONE_NAME|$ONLYONE_SCOPE|$ONLYONE_FD"; if [ -S /dev/fd/3 ]; then echo socket; else echo none; fi; exit 42';
  const inherited = await cli(['run', name, '--', 'sh', '-c', script]);
  assert.deepEqual([inherited.code, inherited.stdout], [42, `${name}|user|3\nsocket\n`]);

  // ONLYONE_FD from an outer onlyone must not leak into a command that does not hold fd 3.
  const plain = await cli(['run', '--no-inherit', '--scope', 'system', name, '--', 'sh', '-c', script], { env: { ONLYONE_FD: '3', ONLYONE_NAME: 'outer' } });
  assert.deepEqual([plain.code, plain.stdout], [42, `${name}|system|\nnone\n`]);

  // Without "--" the command starts at the first argument after NAME, and its options stay its own.
  const bare = await cli(['run', name, 'sh', '-c', 'echo $0', 'arg0']);
  assert.deepEqual([bare.code, bare.stdout], [0, 'arg0\n']);
});

test('--wait acquires once the first run ends', async () => {
  const name = lockName('cli-wait');
  const holder = await holdWithCli(name);
  const waiter = startCli(['run', '--wait', name, '--', 'echo', 'acquired']);
  let holderEnded = 0;
  // Give the waiter time to start waiting; it must not run its command while the lock is held.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(waiter.child.exitCode, null);
  await holder.release().then(() => { holderEnded = Date.now(); });
  const result = await waiter.done;
  assert.deepEqual([result.code, result.stdout, result.stderr], [0, 'acquired\n', '']);
  assert.ok(holderEnded > 0);
});

test('--wait 1 gives up after about a second and reports a conflict', async () => {
  const name = lockName('cli-wait1');
  const holder = await holdWithCli(name);
  try {
    const started = performance.now();
    const result = await cli(['run', '-w', '1', name, '--', 'true']);
    const elapsed = performance.now() - started;
    assert.equal(result.code, 75);
    assert.match(result.stderr, new RegExp(`^onlyone: ${escape(name)} is still running after waiting 1s \\(pid ${holder.child.pid}, `));
    assert.ok(elapsed >= 950, `gave up after ${elapsed} ms`);
    assert.ok(elapsed < 6000, `took ${elapsed} ms`); // generous: the machine is shared
    const attached = await cli(['run', '--wait=0.2', '-E', '9', '-q', name, '--', 'true']);
    assert.deepEqual([attached.code, attached.stderr], [9, '']);
  } finally {
    await holder.release();
  }
});

test('SIGTERM sent to onlyone reaches the command; its exit code, or its signal, comes back out', async () => {
  const name = lockName('cli-sigterm');
  const trapping = startCli(['run', name, '--', 'sh', '-c', 'trap "echo got-TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
  await trapping.waitFor('ready');
  trapping.child.kill('SIGTERM');
  const trapped = await trapping.done;
  assert.deepEqual([trapped.code, trapped.signal, trapped.stdout], [7, null, 'ready\ngot-TERM\n']);

  // A fresh name each time: the trapping shell's last `sleep 0.05` may still hold the first lock for a moment.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1']) {
    const dying = startCli(['run', `${name}-${signal}`, '--', 'sh', '-c', 'echo ready; exec sleep 30']);
    await dying.waitFor('ready');
    dying.child.kill(signal);
    const died = await dying.done;
    assert.deepEqual([died.code, died.signal], [null, signal], `${signal}: ${died.stderr}`);
    assert.equal((await cli(['run', `${name}-${signal}`, '--', 'true'])).code, 0, 'the lock died with the command');
  }
});

test('onlyone SIGKILLed while the command runs: the command keeps the lock until it exits', async () => {
  const name = lockName('cli-sigkill');
  const holder = await holdWithCli(name);
  try {
    holder.child.kill('SIGKILL');
    const killed = await holder.done;
    assert.equal(killed.signal, 'SIGKILL');
    const refused = await cli(['run', name, '--', 'true']);
    assert.equal(refused.code, 75, 'the orphaned command still holds the lock');
    // The orphaned command never says hello, but the kernel shows it holding the socket (issue 4).
    assert.match(refused.stderr, /already running \(pid \d+, user \S+, 'sh -c /);
    assert.equal((await cli(['status', name])).code, 0);
  } finally {
    await holder.release(); // the orphaned `sh` sees the stop file and exits, and the lock goes with it
  }
  const waited = await cli(['wait', '--timeout', '20', name]);
  assert.equal(waited.code, 0, waited.stderr);
  assert.equal((await cli(['run', name, '--', 'true'])).code, 0);
});

test('with --no-inherit, SIGKILLing onlyone frees the lock even though the command still runs', async () => {
  const name = lockName('cli-noinherit');
  const holder = await holdWithCli(name, ['--no-inherit']);
  try {
    holder.child.kill('SIGKILL');
    await holder.done;
    const status = await cli(['status', name]);
    assert.equal(status.code, 1, status.stdout);
    assert.equal((await cli(['run', name, '--', 'true'])).code, 0);
  } finally {
    await holder.release();
  }
});

test('a missing command exits 127, a non-executable one 126, and the lock is released', async () => {
  const name = lockName('cli-enoent');
  const missing = await cli(['run', name, '--', 'onlyone-no-such-command-xyz', 'arg']);
  assert.deepEqual([missing.code, missing.stderr], [127, 'onlyone: onlyone-no-such-command-xyz: command not found\n']);

  const dir = mkdtempSync(join(tmpdir(), 'onlyone-cli-'));
  try {
    const file = join(dir, 'not-executable');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const denied = await cli(['run', name, '--', file]);
    assert.deepEqual([denied.code, denied.stderr], [126, `onlyone: ${file}: permission denied\n`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal((await cli(['status', name])).code, 1);
  assert.equal((await cli(['run', name, '--', 'true'])).code, 0);
});

test('a missing command is "not found" (127) even when PATH holds a directory the user cannot search', (t) => {
  // execvp reports EACCES then, which spawn passes on; a shell says "command not found", and so must onlyone.
  const locked = mkdtempSync(join(tmpdir(), 'onlyone-unsearchable-'));
  t.after(() => {
    chmodSync(locked, 0o700);
    rmSync(locked, { recursive: true, force: true });
  });
  const name = lockName('cli-path');
  let result;
  if (isRoot) {
    // Root searches any directory: run the CLI as another user, for whom a 0700 root directory is unsearchable.
    chmodSync(locked, 0o700);
    const user = testUser();
    const { node, distEntry } = runnableFor(user);
    const main = join(distEntry, '..', 'cli', 'main.js');
    result = spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', node, main, 'run', name, '--', 'onlyone-no-such-command-xyz'], { encoding: 'utf8', env: { ...process.env, PATH: `${locked}:/usr/bin:/bin` } });
  } else {
    chmodSync(locked, 0o000);
    result = spawnSync(process.execPath, [cliPath, 'run', name, '--', 'onlyone-no-such-command-xyz'], { encoding: 'utf8', env: { ...process.env, PATH: `${locked}:/usr/bin:/bin` } });
  }
  assert.deepEqual([result.status, result.stderr], [127, 'onlyone: onlyone-no-such-command-xyz: command not found\n']);
});

test('the run path loads neither koffi nor the unbundled library', async () => {
  // NODE_DEBUG=module,esm makes Node log every module it loads, CommonJS or ESM, to stderr.
  const result = await cli(['run', lockName('cli-lean'), '--', 'true'], { env: { NODE_DEBUG: 'module,esm' } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /load built-in module (?:node:)?child_process/); // the log works (Node 24 drops the node: prefix)
  assert.doesNotMatch(result.stderr, /koffi/);
  assert.doesNotMatch(result.stderr, /dist\/index\.js/, 'the CLI is one bundled file (esbuild, a devDependency, is missing: run npm install)');
});
