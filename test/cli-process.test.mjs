// The process `onlyone run` runs its command in, compared with flock(1) where it has an equivalent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './cli-helpers.mjs';
import { lockName } from './helpers.mjs';

const python = spawnSync('python3', ['--version']).status === 0;

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
