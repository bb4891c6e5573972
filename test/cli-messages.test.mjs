// Messages through the built CLI with real processes: send, run --forward, --on-message, --on-message-signal.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { delay, lockName } from './helpers.mjs';
import { cli, holdWithCli } from './cli-helpers.mjs';

/** Arguments a shell or a JSON encoder could mangle. */
const AWKWARD = ['two words', `it's "quoted"`, 'line one\nline two', 'naïve café ✓ 日本', '', '--json', '-- x', '$HOME `id` \\ \t tab'];
const EVERY_JSON = { null: null, true: true, false: false, int: 42, negative: -7, float: 3.25, big: 1e300, string: 'é\n"\\', empty: '', array: [1, 'a', null, [], {}], object: { nested: { deep: [false] } } };

test('send: argv and data arrive exactly as sent, and the --on-message reply comes back as JSON', async () => {
  const name = lockName('cli-send');
  // `cat` echoes the message: the reply is the message the command received on stdin.
  const holder = await holdWithCli(name, ['--on-message', 'cat']);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'onlyone-cwd-')));
  try {
    const sent = await cli(['send', name, '--json', JSON.stringify(EVERY_JSON), '--', ...AWKWARD], { cwd: dir });
    assert.equal(sent.code, 0, sent.stderr);
    assert.ok(sent.stdout.endsWith('\n') && sent.stdout.split('\n').length === 2, 'one line of JSON');
    const message = JSON.parse(sent.stdout);
    assert.deepEqual(message.argv, AWKWARD);
    assert.deepEqual(message.data, EVERY_JSON);
    assert.equal(message.cwd, dir);
    assert.deepEqual(Object.keys(message).sort(), ['argv', 'cwd', 'data', 'from']);
    assert.equal(typeof message.from.verified, 'boolean');

    // Every JSON type as the whole of the data (--json=VALUE: a value that starts with '-' is not an option).
    for (const value of [null, true, false, 0, -1.5, 'text', [], {}]) {
      const one = await cli(['send', name, `--json=${JSON.stringify(value)}`]);
      assert.equal(one.code, 0, one.stderr);
      assert.deepEqual(JSON.parse(one.stdout).data, value);
    }
    const none = await cli(['send', name]);
    assert.deepEqual(JSON.parse(none.stdout).argv, []);
    assert.equal(JSON.parse(none.stdout).data, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await holder.release();
  }
});

test('run --forward: a second launch sends COMMAND ARG... and its cwd to the first, prints the reply, exits 0', async () => {
  const name = lockName('cli-forward');
  const holder = await holdWithCli(name, ['--forward', '--on-message', 'cat']);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'onlyone-cwd-')));
  try {
    const second = await cli(['run', '--forward', '--on-message', 'cat', name, '--', 'myeditor', ...AWKWARD], { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    const message = JSON.parse(second.stdout);
    assert.deepEqual(message.argv, ['myeditor', ...AWKWARD]);
    assert.equal(message.cwd, dir);
    assert.equal(message.data, null);
    assert.equal(second.stderr, '');
    // The holder is untouched.
    assert.equal(holder.child.exitCode, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await holder.release();
  }
  // Free again: --forward runs the command itself.
  const first = await cli(['run', '--forward', name, '--', 'echo', 'ran']);
  assert.deepEqual([first.code, first.stdout], [0, 'ran\n']);
});

test('run --forward --slots: a full pool forwards to slot 0\'s holder', async () => {
  const name = lockName('cli-forward-slots');
  const holder = await holdWithCli(name, ['--slots', '1', '--on-message', 'cat']);
  try {
    const second = await cli(['run', '--forward', '--slots', '1', name, '--', 'worker', 'job 1']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout).argv, ['worker', 'job 1']);
  } finally {
    await holder.release();
  }
});

test('--on-message: text output is a string reply, a failing command an error reply (exit 76)', async () => {
  const name = lockName('cli-onmsg');
  const script = 'read -r line; case "$line" in *\'"fail"\'*) echo oops >&2; exit 3;; *\'"text"\'*) printf "plain words\\n";; *) printf "%s" "$line" | wc -c;; esac';
  const holder = await holdWithCli(name, ['--on-message', script]);
  try {
    const text = await cli(['send', name, '--json', '"text"']);
    assert.deepEqual([text.code, text.stdout], [0, '"plain words"\n']);
    const counted = await cli(['send', name, '--json', '"count"']);
    assert.equal(counted.code, 0, counted.stderr);
    assert.equal(typeof JSON.parse(counted.stdout), 'number', 'output that parses as JSON is JSON');
    const failed = await cli(['send', name, '--json', '"fail"']);
    assert.equal(failed.code, 76);
    assert.match(failed.stderr, /exited with status 3.*handler_error/);
    assert.equal(failed.stdout, '');
    assert.match(holder.stderr, /oops/, 'the command\'s stderr goes to the holder\'s');
  } finally {
    await holder.release();
  }
});

test('--on-message: a command the sender gave up on is killed, and the holder keeps answering', async () => {
  const name = lockName('cli-onmsg-hang');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-hang-'));
  const pidFile = join(dir, 'pid');
  const script = `read -r line; case "$line" in *hang*) echo $$ > ${pidFile}; sleep 600;; *) echo '"fine"';; esac`;
  const holder = await holdWithCli(name, ['--on-message', script]);
  try {
    const gaveUp = await cli(['send', '--timeout', '1', name, '--json', '"hang"']);
    assert.equal(gaveUp.code, 124);
    assert.match(gaveUp.stderr, /onlyone: /);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The sender's connection closed: the holder aborts the handler and kills the command's group.
    for (let i = 0; existsSync(`/proc/${pid}`) && i < 300; i++) await delay(100);
    assert.equal(existsSync(`/proc/${pid}`), false, 'the hanging --on-message command was killed');
    const after = await cli(['send', name, '--json', '"again"']);
    assert.deepEqual([after.code, after.stdout], [0, '"fine"\n']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await holder.release();
  }
});

test('--on-message-signal sends the signal to the command and replies {signalled}', async () => {
  const name = lockName('cli-onmsg-signal');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-sig-'));
  const stop = join(dir, 'stop');
  const script = `trap 'echo got-usr1' USR1; echo ready; while [ ! -e ${stop} ]; do sleep 0.05; done`;
  const { startCli } = await import('./cli-helpers.mjs');
  const run = startCli(['run', '--on-message-signal', 'USR1', name, '--', 'sh', '-c', script]);
  try {
    await run.waitFor('ready');
    const sent = await cli(['send', name, '--', 'ignored']);
    assert.deepEqual([sent.code, JSON.parse(sent.stdout)], [0, { signalled: 'SIGUSR1' }]);
    await run.waitFor('got-usr1');
  } finally {
    (await import('node:fs')).writeFileSync(stop, '');
    const ended = await run.done;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(ended.code, 0);
  }
});

test('send exit codes: nobody holds it 1, no handler 76, bad --json 64, too large 65', async () => {
  const name = lockName('cli-send-codes');
  const free = await cli(['send', name]);
  assert.equal(free.code, 1);
  assert.match(free.stderr, /not held/);

  const holder = await holdWithCli(name);
  try {
    const noHandler = await cli(['send', name]);
    assert.equal(noHandler.code, 76);
    assert.match(noHandler.stderr, /no_handler/);
    const bad = await cli(['send', name, '--json', '{nope']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--json/);
    // argv and cwd ride in a 64 KiB envelope: refused before sending.
    const big = await cli(['send', name, '--', 'x'.repeat(70 * 1024)]);
    assert.equal(big.code, 65);
    assert.match(big.stderr, /argv/);
  } finally {
    await holder.release();
  }

  // A reply over the 1 MiB cap: the holder refuses to send it, and says so.
  const name2 = lockName('cli-send-toolarge');
  const large = await holdWithCli(name2, ['--on-message', 'head -c 2000000 /dev/zero | tr "\\0" a']);
  try {
    const tooLarge = await cli(['send', name2]);
    assert.equal(tooLarge.code, 65);
    assert.match(tooLarge.stderr, /too_large/);
  } finally {
    await large.release();
  }
});
