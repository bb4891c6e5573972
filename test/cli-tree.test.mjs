// When `onlyone run` is told to stop (a signal, `onlyone stop`, `--replace`), the command's whole tree stops, on every
// backend: the foreground child of a shell, a double-forked daemon in its own session, a process that ignores
// SIGTERM (SIGKILLed after --grace). flock(1) runs side by side: its orphan keeps running and keeps the lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliPath, startCli } from './cli-helpers.mjs';
import { delay, exitOf, lockName } from './helpers.mjs';

/** Live `sleep` processes whose duration starts with `tag`. */
function sleeps(tag) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/u.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const [file = '', arg = ''] = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (file.endsWith('sleep') && arg.startsWith(tag)) found.push(Number(entry));
    } catch { /* gone */ }
  }
  return found;
}

const newTag = () => `8${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;

function backendFlags(t, backend) {
  if (backend === 'abstract') return [];
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-tree-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return ['--backend', 'lockfile', '--dir', dir];
}

for (const backend of ['abstract', 'lockfile']) {
  test(`${backend}: SIGTERM to onlyone stops the shell's foreground child too; the next run gets the lock`, async (t) => {
    const name = lockName('tree-term');
    const flags = backendFlags(t, backend);
    const tag = newTag();
    const run = startCli(['run', ...flags, name, '--', 'sh', '-c', `echo ready; sleep ${tag}1; echo after`]);
    await run.waitFor('ready');
    run.child.kill('SIGTERM');
    const ended = await run.done;
    assert.equal(ended.signal, 'SIGTERM', ended.stderr);
    assert.deepEqual(sleeps(tag), [], 'the shell\'s sleep outlived onlyone');
    assert.equal((await cli(['run', ...flags, name, '--', 'true'])).code, 0, 'an orphan kept the lock');
  });

  test(`${backend}: onlyone stop reaches a double-forked daemon that ignores SIGTERM and closed the lock, killed after --grace`, async (t) => {
    const name = lockName('tree-stop');
    const flags = backendFlags(t, backend);
    const tag = newTag();
    // The daemon closes the lock's descriptor: `stop` cannot find it as a holder of the lock, only as part of the tree.
    const command = `setsid sh -c 'trap "" TERM; sleep ${tag}2 3>&- & exit'; echo ready; sleep ${tag}3`;
    const run = startCli(['run', ...flags, '--grace', '1', name, '--', 'sh', '-c', command]);
    await run.waitFor('ready');
    while (sleeps(tag).length < 2) await delay(20);
    const stopped = await cli(['stop', ...flags, name]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await run.done;
    assert.deepEqual(sleeps(tag), [], 'a process of the tree outlived the stop');
  });
}

test('side by side: a SIGTERMed flock(1) leaves its command\'s child running with the lock; onlyone does not', { skip: spawnSync('flock', ['--version']).status !== 0 && 'no flock(1)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-tree-flock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tag = newTag();
  const flock = spawn('flock', ['-n', join(dir, 'f'), 'sh', '-c', `echo ready; sleep ${tag}4`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => {
    for (const pid of sleeps(tag)) process.kill(pid, 'SIGKILL');
  });
  while (sleeps(`${tag}4`).length === 0) await delay(20);
  flock.kill('SIGTERM');
  await exitOf(flock);
  const orphans = sleeps(`${tag}4`);
  t.diagnostic(`flock: ${orphans.length} orphan(s) still running after SIGTERM; onlyone: 0 (the tests above)`);
  const retry = spawnSync('flock', ['-n', join(dir, 'f'), 'true']);
  t.diagnostic(`flock: the next run exits ${retry.status} while the orphan lives`);
  assert.equal(orphans.length, 1, 'flock(1) changed: its orphan no longer survives');
});

test('an onlyone run inside another\'s command: the outer stop still finds what the inner one started', async (t) => {
  const outerName = lockName('tree-outer');
  const innerName = lockName('tree-inner');
  const tag = newTag();
  // The inner command leaves a daemon (double fork, lock closed); then the inner onlyone is SIGKILLed, so only the
  // outer one is left to find the daemon and the orphaned shell, through the outer marker they still carry.
  const inner = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} run ${innerName} -- sh -c '(setsid sleep ${tag}5 3>&- &); echo ready; sleep ${tag}6'`;
  const run = startCli(['run', '--grace', '1', outerName, '--', 'sh', '-c', `${inner}; sleep ${tag}7`]);
  await run.waitFor('ready');
  while (sleeps(tag).length < 2) await delay(20);
  const innerPid = readdirSync('/proc').map(Number).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`\0run\0${innerName}\0`);
    } catch {
      return false;
    }
  });
  assert.ok(innerPid !== undefined, 'no inner onlyone');
  process.kill(innerPid, 'SIGKILL');
  run.child.kill('SIGTERM');
  await run.done;
  assert.deepEqual(sleeps(tag), [], 'a process started under the inner onlyone outlived the outer stop');
});
