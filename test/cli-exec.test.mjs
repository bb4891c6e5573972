// `onlyone run --exec` (flock's -F): onlyone becomes the command, which holds the lock itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cli, cliPath } from './cli-helpers.mjs';
import { lockName } from './helpers.mjs';

const node = JSON.stringify(process.execPath);
const main = JSON.stringify(cliPath);

async function statusJson(name) {
  const result = await cli(['status', '--json', name]);
  return { code: result.code, holder: result.stdout.trim() === '' ? undefined : JSON.parse(result.stdout) };
}

test('run --exec: $! is the command, which holds the lock, and status names it', async () => {
  const name = lockName('exec');
  // The shell's $! is the pid of what it started in the background: with --exec, that pid becomes `sleep`.
  const shell = spawn('sh', ['-c', `${node} ${main} run --exec ${name} -- sleep 30 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'inherit'] });
  shell.stdout.setEncoding('utf8');
  const [line] = await once(shell.stdout, 'data');
  const pid = Number(line.trim());
  try {
    let status;
    for (let i = 0; i < 100; i++) {
      // The exec first, then the status: a status read just before the exec still describes onlyone itself.
      const execed = readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0');
      status = await statusJson(name);
      if (execed && status.code === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status.code, 0, 'the lock is held');
    assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\u000030\u0000', 'no wrapper: the pid is the command');
    assert.equal(status.holder.pid, pid);
    assert.deepEqual(status.holder.argv, ['sleep', '30']);
    process.kill(pid, 'SIGTERM');
    await once(shell, 'exit');
    assert.equal((await statusJson(name)).code, 1, 'freed when the command exits');
  } finally {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
});

test('run --exec: the command gets the lock descriptor, stdio and its own exit status', async () => {
  const name = lockName('exec');
  const script = 'test -n "$ONLYONE_FD" && test -e /proc/self/fd/$ONLYONE_FD && echo "fd ok $ONLYONE_NAME"; grep SigIgn /proc/self/status; exit 7';
  const result = await cli(['run', '--exec', name, '--', 'sh', '-c', script]);
  assert.equal(result.code, 7, result.stderr);
  assert.match(result.stdout, new RegExp(`^fd ok ${name}$`, 'mu'));
  // Node ignores SIGPIPE and SIGXFSZ for itself; the command must not inherit that.
  assert.match(result.stdout, /^SigIgn:\s+0+$/mu);
  assert.equal((await statusJson(name)).code, 1);
});

test('run --exec: a command that is not found exits 127 and leaves the lock free', async () => {
  const name = lockName('exec');
  const result = await cli(['run', '--exec', name, '--', 'onlyone-no-such-command-xyz']);
  assert.equal(result.code, 127);
  assert.match(result.stderr, /^onlyone: onlyone-no-such-command-xyz: command not found$/mu);
  assert.equal((await statusJson(name)).code, 1);
});

test('run --exec refuses the options that need onlyone to stay, with one clear line, and takes no lock', async () => {
  const name = lockName('exec');
  const cases = [
    [['--keep-running'], /--exec cannot be used with --keep-running/u],
    [['--until-success'], /--exec cannot be used with --until-success/u],
    [['--on-message', 'cat'], /--exec cannot be used with --on-message:/u],
    [['--on-message-signal', 'HUP'], /--exec cannot be used with --on-message-signal/u],
    [['--no-inherit'], /--exec cannot be used with --no-inherit/u],
    [['--min-hold', '1s'], /--exec cannot be used with --min-hold/u],
    [['--coalesce'], /--exec cannot be used with --coalesce/u],
    [['--once-per', '1h', '--backend', 'lockfile'], /--exec cannot be used with --once-per/u],
    [['--backend', 'postgres://localhost/x'], /--exec cannot be used with the postgres backend/u],
  ];
  for (const [extra, message] of cases) {
    for (const flag of ['--exec', '-F', '--no-fork']) {
      const result = await cli(['run', flag, ...extra, name, '--', 'sh', '-c', 'echo ran']);
      assert.equal(result.code, 64, `${flag} ${extra.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr.split('\n')[0], message);
      assert.equal(result.stdout, '', 'the command did not run');
    }
  }
  assert.equal((await statusJson(name)).code, 1);
});

test('run --exec on the lockfile backend: the command holds the lock file itself', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-exec-'));
  const name = lockName('exec');
  const where = ['--backend', 'lockfile', '--dir', dir];
  try {
    // From inside the command: the lock is held, and by this very process (the shell that replaced onlyone).
    const check = `${node} ${main} status --json ${where.join(' ')} ${name} > ${join(dir, 'status.json')}; echo "status $? pid $$"`;
    const result = await cli(['run', '--exec', ...where, name, '--', 'sh', '-c', check]);
    assert.equal(result.code, 0, result.stderr);
    const [, code, pid] = /^status (\d+) pid (\d+)$/mu.exec(result.stdout) ?? [];
    assert.equal(code, '0', 'held while the command runs');
    assert.equal(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).pid, Number(pid));
    assert.equal((await cli(['status', ...where, name])).code, 1, 'freed when the command exits');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
