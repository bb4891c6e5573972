// flock(1)'s flags and habits in `onlyone run`, side by side with flock(1) itself where it has an equivalent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { cli, cliPath, holdWithCli } from './cli-helpers.mjs';

/** Runs a program to completion: { code, signal, stdout, stderr }. */
async function sh(file, args, env = {}) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const [code, signal] = await once(child, 'close');
  return { code, signal, stdout, stderr };
}

/** A lock file for flock(1) in a private directory; `hold()` keeps it locked until `release()`. */
function flockFile(t) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-flock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'f');
  return {
    file,
    async hold() {
      const holder = spawn('flock', [file, 'sh', '-c', 'echo ready; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
      await once(holder.stdout, 'data');
      return () => { holder.kill('SIGKILL'); return once(holder, 'exit'); };
    },
  };
}

test("flock's lock-kind and blocking flags are accepted, as flock accepts them", async (t) => {
  const { file } = flockFile(t);
  for (const flags of [['-n'], ['--nb'], ['--nonblock'], ['--nonblocking'], ['-x'], ['-e'], ['--exclusive'], ['-nx'], ['-n', '-e']]) {
    const theirs = await sh('flock', [...flags, file, 'sh', '-c', 'echo ran']);
    const ours = await cli(['run', ...flags, lockName('flock-flags'), '--', 'sh', '-c', 'echo ran']);
    assert.deepEqual([ours.code, ours.stdout], [theirs.code, theirs.stdout], `${flags.join(' ')}: ${ours.stderr}`);
  }
});

test('-n with -E on a held lock: the conflict status, as with flock', async (t) => {
  const lockFile = flockFile(t);
  const release = await lockFile.hold();
  const theirs = await sh('flock', ['-n', '-E', '42', lockFile.file, 'true']);
  await release();
  const name = lockName('flock-n');
  const holder = await holdWithCli(name);
  try {
    const ours = await cli(['run', '-nE', '42', name, '--', 'true']);
    assert.equal(theirs.code, 42);
    assert.equal(ours.code, theirs.code, ours.stderr);
  } finally {
    await holder.release();
  }
});

test('-o/--close: the command does not get the lock, as --no-inherit', async () => {
  for (const flag of ['-o', '--close']) {
    const result = await cli(['run', flag, lockName('flock-o'), '--', 'sh', '-c', 'echo "${ONLYONE_FD:-none}"; [ -e /proc/self/fd/3 ] && echo fd3 || echo no-fd3']);
    assert.equal(result.stdout, 'none\nno-fd3\n', `${flag}: ${result.stderr}`);
  }
  const inherited = await cli(['run', lockName('flock-o'), '--', 'sh', '-c', 'echo "${ONLYONE_FD:-none}"']);
  assert.equal(inherited.stdout, '3\n');
});

test('-c/--command STRING runs through $SHELL -c, with the same output and status as flock -c', async (t) => {
  const { file } = flockFile(t);
  const script = 'echo "$0" "$#"; echo to-stderr >&2; exit 3';
  for (const [flag, shell] of [['-c', '/bin/sh'], ['--command', '/bin/bash']]) {
    const theirs = await sh('flock', [file, flag, script], { SHELL: shell });
    const ours = await sh(process.execPath, [cliPath, 'run', lockName('flock-c'), flag, script], { SHELL: shell });
    assert.deepEqual([ours.code, ours.stdout, ours.stderr], [theirs.code, theirs.stdout, theirs.stderr], flag);
    assert.equal(ours.stdout, `${shell} 0\n`);
  }
  const both = await cli(['run', lockName('flock-c'), '-c', 'true', '--', 'echo']);
  assert.equal(both.code, 64);
  assert.match(both.stderr, /-c\/--command and a COMMAND/);
});

test('--verbose says how long the lock took and what runs, as flock --verbose', async () => {
  const result = await cli(['run', '--verbose', lockName('flock-verbose'), '--', 'sh', '-c', 'true']);
  assert.equal(result.code, 0);
  assert.match(result.stderr, /^onlyone: getting lock \S+ took \d+\.\d+ seconds$/m);
  assert.match(result.stderr, /^onlyone: executing sh -c true$/m);
});

test('flock options onlyone does not offer get a one-line answer and exit 64', async () => {
  const cases = [
    [['-s'], /-s\/--shared: .*--slots N/],
    [['--shared'], /--shared: .*--slots N/],
    [['-u'], /-u\/--unlock: .*onlyone unlock NAME/],
    [['--unlock'], /--unlock: .*onlyone unlock NAME/],
    [['--fcntl'], /--fcntl: .*flock\(2\)/],
    [['--start', '0'], /--start: .*byte ranges/],
    [['--length', '10'], /--length: .*byte ranges/],
  ];
  for (const [flags, message] of cases) {
    const result = await cli(['run', ...flags, lockName('flock-refused'), '--', 'true']);
    assert.equal(result.code, 64, flags.join(' '));
    assert.match(result.stderr.split('\n')[0], message, flags.join(' '));
    assert.equal(result.stdout, '');
  }
  const descriptor = await cli(['run', '9']);
  assert.equal(descriptor.code, 64);
  assert.match(descriptor.stderr, /onlyone lock NAME/);
});

test('run --help lists every flock alias it accepts', async () => {
  const help = (await cli(['run', '--help'])).stdout;
  for (const line of ['-n, --nb, --nonblock', '-x, -e, --exclusive', '-o, --close', '-c, --command STRING', '--verbose', '-s, --shared', '-u, --unlock', '--fcntl, --start, --length', '-w, --wait [DURATION]', '-E, --conflict-exit-code N']) {
    assert.ok(help.includes(`  ${line} `), line);
  }
  assert.match(help, /also --nonblocking/);
});
