// Restart loops: the backoff resets after a success or a long run, is adjustable, and a stop during the pause ends by its signal.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { delay, lockName } from './helpers.mjs';
import { cli, startCli } from './cli-helpers.mjs';

const pauses = (stderr) => [...stderr.matchAll(/running it again in ([\d.]+)s/g)].map((m) => Number(m[1]));

/** A shell snippet that counts its runs in a file and sets $n. */
function counter(t) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-loop-policy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'n');
  return `n=$(cat ${file} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${file}`;
}

test('quick failures double the pause up to --max-delay', async (t) => {
  const bump = counter(t);
  const result = await cli(['run', '--until-success', '--restart-delay', '50ms', '--max-delay', '0.2', lockName('loop-double'), '--', 'sh', '-c', `${bump}; [ $n -ge 5 ]`]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(pauses(result.stderr), [0.05, 0.1, 0.2, 0.2]);
});

test('a run that succeeded brings the pause back to --restart-delay', async (t) => {
  const bump = counter(t);
  // Runs 1-3 succeed, 4 fails: every pause follows a success, so none is doubled.
  const result = await cli(['run', '--until-failure', '--restart-delay', '50ms', '--max-delay', '10s', lockName('loop-reset'), '--', 'sh', '-c', `${bump}; [ $n -lt 4 ] || exit 9`]);
  assert.equal(result.code, 9, result.stderr);
  assert.deepEqual(pauses(result.stderr), [0.05, 0.05, 0.05]);
});

test('a failed run that lasted --max-delay (and 10 s) or longer also brings the pause back', async (t) => {
  const bump = counter(t);
  // Runs 1 and 3 fail quickly, run 2 fails after 10.5 s (past --max-delay 0.2 s and the 10 s floor), run 4 succeeds.
  const script = `${bump}; [ $n -eq 2 ] && sleep 10.5; [ $n -ge 4 ]`;
  const result = await cli(['run', '--until-success', '--restart-delay', '0.1', '--max-delay', '0.2', lockName('loop-long'), '--', 'sh', '-c', script]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(pauses(result.stderr), [0.1, 0.1, 0.2]);
});

test('--restart-delay 0 restarts at once, as run-one-constantly', async (t) => {
  const bump = counter(t);
  const result = await cli(['run', '--until-failure', '--restart-delay', '0', lockName('loop-zero'), '--', 'sh', '-c', `${bump}; [ $n -lt 4 ] || exit 6`]);
  assert.equal(result.code, 6, result.stderr);
  assert.deepEqual(pauses(result.stderr), [0, 0, 0]);
});

test('SIGTERM during the pause ends onlyone by SIGTERM, not with the last run\'s status', async () => {
  const run = startCli(['run', '--keep-running', '--restart-delay', '1m', lockName('loop-term'), '--', 'sh', '-c', 'echo ran; exit 3']);
  for (let i = 0; !run.stderr.includes('running it again') && i < 300; i++) await delay(50);
  assert.match(run.stderr, /command ended \(status 3\); running it again in 60s/);
  run.child.kill('SIGTERM');
  const ended = await run.done;
  assert.deepEqual([ended.code, ended.signal], [null, 'SIGTERM'], ended.stderr);
  assert.equal(ended.stdout, 'ran\n');
});

test('loop delays need a loop, and --restart-delay cannot exceed --max-delay', async () => {
  const name = lockName('loop-usage');
  for (const [args, message] of [
    [['run', '--restart-delay', '1s', name, '--', 'true'], /--restart-delay needs --keep-running, --until-success or --until-failure/],
    [['run', '--max-delay', '1s', name, '--', 'true'], /--max-delay needs/],
    [['run', '--keep-running', '--restart-delay', '2m', '--max-delay', '1m', name, '--', 'true'], /--restart-delay \(120s\) cannot be longer than --max-delay \(60s\)/],
  ]) {
    const result = await cli(args);
    assert.equal(result.code, 64, args.join(' '));
    assert.match(result.stderr, message);
  }
});
