// `onlyone lock NAME` / `onlyone unlock NAME`: a lock for the rest of the calling script, freed when that process ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { delay, lockName } from './helpers.mjs';
import { cli, cliPath, holdWithCli, startCli } from './cli-helpers.mjs';

const onlyone = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)}`;

/** Runs `sh -c SCRIPT` with `$ONLYONE` set to the CLI; stdin stays open (a pipe) so `read` can block. */
function script(text, { shell = 'sh' } = {}) {
  const child = spawn(shell, ['-c', text], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ONLYONE: onlyone, NODE: process.execPath, CLI: cliPath } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const done = once(child, 'exit').then(([code, signal]) => ({ code, signal, stdout, stderr }));
  return {
    child,
    done,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    async waitFor(text, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before ${text}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no ${text} within ${timeoutMs} ms: ${stderr}`);
        await delay(20);
      }
    },
  };
}

test('the lock lasts as long as the calling script: a second script is refused, and it is free once the first ends', async () => {
  const name = lockName('lock-life');
  const first = script(`eval "$ONLYONE lock ${name}" || exit 9; echo held; read line; echo done`);
  await first.waitFor('held');
  const second = await script(`eval "$ONLYONE lock ${name}"; echo "status $?"`).done;
  assert.equal(second.stdout, 'status 75\n');
  assert.match(second.stderr, new RegExp(`^onlyone: ${name} is already running \\(pid \\d+, user [^,]+, 'sh -c `, 'm'));
  const status = JSON.parse((await cli(['status', '--json', name])).stdout);
  assert.equal(status.held, true);
  assert.deepEqual(status.argv.slice(0, 2), ['sh', '-c'], 'status shows the calling script');
  first.child.stdin.end('go\n');
  assert.equal((await first.done).code, 0);
  // Freed when the script ended: `wait` returns (event-driven), then nobody holds it.
  assert.equal((await cli(['wait', '--timeout', '30s', name])).code, 0);
  assert.equal((await cli(['status', name])).code, 1);
});

for (const backend of ['abstract', 'lockfile']) {
  test(`${backend}: SIGKILL of the calling shell frees the lock (the waiter gets it; the time is measured in bench/lock-release.mjs)`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'onlyone-lock-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const options = backend === 'lockfile' ? ['--backend', 'lockfile', '--dir', dir] : [];
    const name = lockName('lock-kill');
    // `read` is a builtin: the shell has no child that could keep anything alive.
    const shell = script(`eval "$ONLYONE lock ${options.join(' ')} ${name}" || exit 9; echo held; read line`);
    await shell.waitFor('held');
    const waiter = startCli(['wait', ...options, '--timeout', '60s', name]);
    await delay(200);
    assert.equal(waiter.child.exitCode, null, 'the waiter waits while the shell lives');
    shell.child.kill('SIGKILL');
    assert.equal((await shell.done).signal, 'SIGKILL');
    const waited = await waiter.done;
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal((await cli(['status', ...options, name])).code, 1);
  });
}

test('unlock: the same script frees it early; a subshell, another script or nobody cannot', async () => {
  const name = lockName('lock-unlock');
  const own = await script(`eval "$ONLYONE lock ${name}"; (eval "$ONLYONE unlock ${name}"; echo "subshell $?"); eval "$ONLYONE unlock ${name}"; echo "own $?"; eval "$ONLYONE status ${name}" >/dev/null; echo "status $?"`).done;
  assert.equal(own.stdout, 'subshell 75\nown 0\nstatus 1\n', own.stderr);
  assert.match(own.stderr, /cannot unlock .*only that process can unlock it/);

  const holder = script(`eval "$ONLYONE lock ${name}"; echo held; read line`);
  await holder.waitFor('held');
  const other = await script(`eval "$ONLYONE unlock ${name}"; echo "other $?"`).done;
  assert.equal(other.stdout, 'other 75\n');
  holder.child.stdin.end('\n');
  await holder.done;

  const ran = await holdWithCli(name);
  const notOurs = await cli(['unlock', name]);
  assert.equal(notOurs.code, 75);
  assert.match(notOurs.stderr, /not taken with 'onlyone lock'/);
  await ran.release();
  assert.equal((await cli(['unlock', name])).code, 1, 'nobody holds it');
});

test('the pitfall: in a subshell the lock is the subshell\'s, and goes when it ends; a plain $(onlyone lock) is the script\'s', async () => {
  for (const shell of ['sh', 'bash']) {
    const name = lockName('lock-subshell');
    const sub = await script(`x=$(eval "$ONLYONE lock ${name}"; echo in-subshell); eval "$ONLYONE status ${name}" >/dev/null; echo "status $?"`, { shell }).done;
    assert.equal(sub.stdout, 'status 1\n', `${shell}: freed with the subshell`);
    const plain = await script(`x=$("$NODE" "$CLI" lock ${name}); eval "$ONLYONE status ${name}" >/dev/null; echo "status $?"`, { shell }).done;
    assert.equal(plain.stdout, 'status 0\n', `${shell}: the command substitution execs onlyone directly, so the caller is the script`);
  }
});

test('stop NAME sends the locking script SIGTERM; the lock goes when the script has ended', async () => {
  const name = lockName('lock-stop');
  const shell = script(`trap 'echo got-term; exit 3' TERM; eval "$ONLYONE lock ${name}"; echo held; while :; do sleep 0.05; done`);
  await shell.waitFor('held');
  const stopped = await cli(['stop', '--timeout', '30s', name]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout.trim(), 'released');
  const ended = await shell.done;
  assert.equal(ended.code, 3);
  assert.match(ended.stdout, /got-term/);
});

test('-w waits; if onlyone lock dies while waiting, its holder gives up instead of locking for a caller that gave up', async () => {
  const name = lockName('lock-wait');
  const ran = await holdWithCli(name);
  // The caller is this test process: a holder that did not give up would keep the lock until the test ends.
  const waiting = startCli(['lock', '-w', name]);
  await delay(300);
  waiting.child.kill('SIGKILL');
  await waiting.done;
  await ran.release();
  assert.equal((await cli(['wait', '--timeout', '30s', name])).code, 0);
  await delay(300);
  assert.equal((await cli(['status', name])).code, 1, 'nobody took it for the dead onlyone lock');

  const holder = await holdWithCli(name);
  try {
    const again = await script(`eval "$ONLYONE lock -w 200ms -E 42 ${name}"; echo "status $?"`).done;
    assert.equal(again.stdout, 'status 42\n');
    assert.match(again.stderr, /still running after waiting 0\.2s/);
  } finally {
    await holder.release();
  }
});

test('without koffi there is no pidfd: exit 69 with the reason, and no lock is left behind', async () => {
  const name = lockName('lock-nokoffi');
  const result = await cli(['lock', name], { env: { ONLYONE_NO_KOFFI: '1' } });
  assert.equal(result.code, 69);
  assert.match(result.stderr, /needs koffi to open a pidfd/);
  assert.equal((await cli(['status', name])).code, 1);
});

test('lock and unlock usage errors exit 64', async () => {
  for (const [args, message] of [
    [['lock'], /missing lock NAME/],
    [['lock', 'x', 'rsync'], /runs no command/],
    [['lock', '5s'], /is a duration/],
    [['lock', '-n', '-w', '1', 'x'], /cannot be used together/],
    [['unlock'], /missing lock NAME/],
    [['__lock-holder', '{}'], /started by onlyone lock/],
  ]) {
    const result = await cli(args);
    assert.equal(result.code, 64, args.join(' '));
    assert.match(result.stderr, message);
  }
});

test('locking again from the same script succeeds, as flock on the same descriptor, even with -w; a subshell is refused', async () => {
  const name = lockName('lock-again');
  const result = await script(`eval "$ONLYONE lock ${name}"; echo "first $?"; eval "$ONLYONE lock ${name}"; echo "again $?"; eval "$ONLYONE lock -w 30s ${name}"; echo "wait $?"; (eval "$ONLYONE lock -q ${name}"; echo "subshell $?")`).done;
  assert.equal(result.stdout, 'first 0\nagain 0\nwait 0\nsubshell 75\n', result.stderr);
});

test("side by side with flock's exec 9>FILE; flock -n 9: a second script is refused, SIGKILL of the first frees it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-lock-flock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'f');
  const name = lockName('lock-side');
  const patterns = {
    flock: { take: `exec 9>${file}; flock -n 9`, wait: ['flock', ['-w', '60', file, 'true']] },
    onlyone: { take: `eval "$ONLYONE lock ${name}"`, wait: [process.execPath, [cliPath, 'wait', '--timeout', '60s', name]] },
  };
  const seen = {};
  for (const [tool, { take, wait }] of Object.entries(patterns)) {
    const first = script(`${take} || exit 9; echo held; read line`);
    await first.waitFor('held');
    const second = await script(`${take}; echo "second $?"`).done;
    first.child.kill('SIGKILL');
    await first.done;
    const waiter = spawn(wait[0], wait[1], { stdio: 'ignore' });
    const [code] = await once(waiter, 'exit');
    seen[tool] = { refused: second.stdout !== 'second 0\n', freed: code === 0 };
  }
  assert.deepEqual(seen.onlyone, seen.flock);
  assert.deepEqual(seen.onlyone, { refused: true, freed: true });
});
