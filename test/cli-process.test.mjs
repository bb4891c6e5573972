// The process `onlyone run` runs its command in, compared with flock(1) where it has an equivalent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { cliPath } from './cli-helpers.mjs';
import { delay, exitOf, lockName } from './helpers.mjs';

const python = spawnSync('python3', ['--version']).status === 0;
const hasFlock = spawnSync('flock', ['--version']).status === 0;
/** How a shell runs `onlyone`: the executable file itself (its launcher finds this node on PATH). */
const shellEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, CLI: cliPath };

/** Runs a shell script with $CLI, $F (a file in a fresh directory) and $LOCK (a flock file there); returns F's text. */
function shell(t, script) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-fds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const result = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...shellEnv, F: join(dir, 'f'), LOCK: join(dir, 'lock'), NAME: lockName('fds') } });
  let text = '';
  try { text = readFileSync(join(dir, 'f'), 'utf8'); } catch { /* none */ }
  return { ...result, text };
}

test('the caller\'s descriptors reach the command at the same numbers, as under flock(1)', { skip: !hasFlock && 'no flock(1)' }, (t) => {
  const ours = shell(t, `exec 4>"$F"; "$CLI" run "$NAME" -- sh -c 'echo hi >&4'`);
  assert.equal(ours.status, 0, ours.stderr);
  assert.equal(ours.text, 'hi\n');
  const theirs = shell(t, `exec 4>"$F"; flock "$LOCK" sh -c 'echo hi >&4'`);
  assert.equal(theirs.text, ours.text);
});

test('the lock takes a number the caller did not use, named by ONLYONE_FD; the caller\'s fd 3 stays its own', (t) => {
  const run = shell(t, `{ "$CLI" run "$NAME" -- sh -c 'echo three >&3; echo "$ONLYONE_FD"; readlink /proc/self/fd/$ONLYONE_FD'; } 3>"$F"`);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.text, 'three\n');
  const [fd, target] = run.stdout.trim().split('\n');
  assert.notEqual(fd, '3');
  assert.match(target, /^socket:/u, 'ONLYONE_FD is not the lock');
});

test('nohup: a SIGHUP leaves onlyone and its command running, which starts with SIGHUP ignored, as under flock(1)', { skip: !hasFlock && 'no flock(1)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-nohup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const masks = {};
  for (const [who, argv] of [['onlyone', [cliPath, 'run', lockName('nohup'), '--']], ['flock', ['flock', join(dir, 'lock')]]]) {
    const child = spawn('nohup', [...argv, 'sh', '-c', 'grep SigIgn /proc/$$/status; sleep 1; echo survived'], { stdio: ['ignore', 'pipe', 'ignore'], env: shellEnv });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    while (!out.includes('SigIgn')) await delay(20);
    child.kill('SIGHUP');
    const ended = await exitOf(child);
    assert.deepEqual([ended.code, ended.signal], [0, null], `${who} died of SIGHUP`);
    assert.match(out, /survived/u);
    masks[who] = /SigIgn:\s*([0-9a-f]+)/u.exec(out)?.[1];
  }
  assert.equal(BigInt(`0x${masks.onlyone}`) & 1n, 1n, `SIGHUP not ignored in the command: ${masks.onlyone}`);
  assert.equal(masks.onlyone, masks.flock);
});

test('signals the caller did not ignore start at their default in the command', (t) => {
  const run = shell(t, `"$CLI" run "$NAME" -- sh -c 'grep SigIgn /proc/$$/status'`);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /SigIgn:\s*0+\n/u);
});


/**
 * Runs argv under python3 with core dumps unlimited, in a fresh directory; returns the raw wait status as Python
 * decodes it: { signaled, signal, core, code }.
 */
function waitStatus(t, argv, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-core-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = `
import json, os, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
p = subprocess.Popen(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, st = os.waitpid(p.pid, 0)
print(json.dumps({ 'signaled': os.WIFSIGNALED(st), 'signal': os.WTERMSIG(st) if os.WIFSIGNALED(st) else None,
  'core': bool(os.WIFSIGNALED(st) and os.WCOREDUMP(st)), 'code': os.WEXITSTATUS(st) if os.WIFEXITED(st) else None }))`;
  const result = spawnSync('python3', ['-c', script, JSON.stringify(argv)], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(result.status, 0, result.stderr);
  return { ...JSON.parse(result.stdout), files: readdirSync(dir) };
}

test('a command that dumps core: onlyone dies of the same signal without dumping a core of its own', { skip: !python && 'no python3' }, (t) => {
  const command = ['sh', '-c', 'kill -SEGV $$'];
  const direct = waitStatus(t, command);
  if (!direct.core) return t.skip('core dumps are disabled on this machine (core_pattern or limits)');
  const wrapped = waitStatus(t, [process.execPath, cliPath, 'run', lockName('core'), '--', ...command]);
  assert.deepEqual([wrapped.signaled, wrapped.signal, wrapped.core], [true, 11, false], JSON.stringify(wrapped));
  // flock(1) side by side: it exits 128+N, which a shell reports as the same $? (139).
  const flock = waitStatus(t, ['flock', join(tmpdir(), lockName('core-flock')), ...command]);
  t.diagnostic(`flock(1): ${JSON.stringify(flock)}; onlyone: ${JSON.stringify(wrapped)}`);
});

test('without koffi a command\'s core-dumping death is passed on as 128+N, never as a core of onlyone', { skip: !python && 'no python3' }, (t) => {
  const command = ['sh', '-c', 'kill -SEGV $$'];
  if (!waitStatus(t, command).core) return t.skip('core dumps are disabled on this machine');
  const wrapped = waitStatus(t, [process.execPath, cliPath, 'run', lockName('core-nokoffi'), '--', ...command], { ONLYONE_NO_KOFFI: '1' });
  assert.deepEqual([wrapped.signaled, wrapped.code, wrapped.core], [false, 139, false], JSON.stringify(wrapped));
});
