// Restart loops and slots through the built CLI, with real processes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tryAcquire } from '../dist/index.js';
import { delay, lockName } from './helpers.mjs';
import { cli, startCli } from './cli-helpers.mjs';

const count = (text, word) => text.split('\n').filter((line) => line === word).length;

test('--keep-running restarts the command under the same lock: a contender never finds it free', async () => {
  const name = lockName('cli-keep');
  const run = startCli(['run', '--keep-running', name, '--', 'sh', '-c', 'echo run; sleep 0.2; exit 3']);
  let polls = 0;
  let won = 0;
  let sawFree = 0;
  let statusPolls = 0;
  let watching = true;
  await run.waitFor('run');
  // Library contender: tryAcquire in a tight loop.
  const library = (async () => {
    while (watching) {
      const lock = await tryAcquire(name);
      polls++;
      if (lock !== undefined) {
        won++;
        await lock.release();
      }
      await delay(5);
    }
  })();
  // CLI contender: `status` over and over.
  const statuses = (async () => {
    while (watching) {
      const result = await cli(['status', name]);
      statusPolls++;
      if (result.code !== 0) sawFree++;
    }
  })();
  try {
    // Two restarts: after 1 s, then after 2 s.
    for (let i = 0; count(run.stdout, 'run') < 3 && i < 600; i++) await delay(50);
    assert.equal(count(run.stdout, 'run'), 3, run.stderr);
    assert.match(run.stderr, /command ended \(status 3\); running it again in 1s/);
    assert.match(run.stderr, /running it again in 2s/);
  } finally {
    watching = false;
    await Promise.all([library, statuses]);
    run.child.kill('SIGTERM');
  }
  assert.ok(polls > 10 && statusPolls > 1, `contenders ran (${polls} tryAcquire, ${statusPolls} status)`);
  assert.equal(won, 0, 'tryAcquire never won');
  assert.equal(sawFree, 0, 'status never saw the lock free');
  // SIGTERM ends the loop; it ends the way its last run did (status 3, or SIGTERM if a run was under way).
  const ended = await run.done;
  assert.ok(ended.code === 3 || ended.signal === 'SIGTERM', JSON.stringify(ended));
  assert.equal((await cli(['status', name])).code, 1, 'free once the loop ended');
});

test('--until-success re-runs a failing command until it succeeds; --until-failure until it fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-loop-'));
  try {
    const counter = join(dir, 'n');
    const bump = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo try $n`;
    const success = await cli(['run', '--until-success', lockName('cli-until-s'), '--', 'sh', '-c', `${bump}; [ $n -ge 3 ]`]);
    assert.equal(success.code, 0, success.stderr);
    assert.equal(success.stdout, 'try 1\ntry 2\ntry 3\n');

    writeFileSync(counter, '0');
    const failure = await cli(['run', '--until-failure', lockName('cli-until-f'), '--', 'sh', '-c', `${bump}; [ $n -lt 3 ] || exit 7`]);
    assert.equal(failure.code, 7, failure.stderr);
    assert.equal(failure.stdout, 'try 1\ntry 2\ntry 3\n');
    assert.equal(readFileSync(counter, 'utf8'), '3\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a release request ends a --keep-running loop: stop reports "released"', async () => {
  const name = lockName('cli-keep-stop');
  const run = startCli(['run', '--keep-running', name, '--', 'sh', '-c', 'echo run; exec sleep 600']);
  await run.waitFor('run');
  const stopped = await cli(['stop', name, '--timeout', '20']);
  assert.deepEqual([stopped.code, stopped.stdout], [0, 'released\n'], stopped.stderr);
  const ended = await run.done;
  assert.equal(ended.signal, 'SIGTERM');
  assert.equal(count(ended.stdout, 'run'), 1, 'not restarted');
});

test('--slots N: of N+1 racing runs exactly N win; status shows every slot; wait --slots waits for one', async () => {
  const name = lockName('cli-slots');
  const slots = 3;
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-slots-'));
  const script = `echo "ready $ONLYONE_SLOT"; while [ -d ${dir} ] && [ ! -e ${dir}/stop-$ONLYONE_SLOT ]; do sleep 0.05; done`;
  const racers = Array.from({ length: slots + 1 }, () => startCli(['run', '--slots', String(slots), name, '--', 'sh', '-c', script]));
  try {
    const loser = await Promise.race(racers.map((racer) => racer.done.then(() => racer)));
    assert.equal((await loser.done).code, 75, loser.stderr);
    const winners = racers.filter((racer) => racer !== loser);
    for (const winner of winners) await winner.waitFor('ready');
    const taken = winners.map((winner) => Number(/ready (\d+)/u.exec(winner.stdout)?.[1])).sort();
    assert.deepEqual(taken, [0, 1, 2]);

    const text = await cli(['status', '--slots', String(slots), name]);
    assert.equal(text.code, 0, 'every slot held');
    assert.match(text.stdout, new RegExp(`: 3 of 3 slots held\\n`));
    const json = JSON.parse((await cli(['status', '--slots', String(slots), '--json', name])).stdout);
    assert.deepEqual(json.map((slot) => [slot.name, slot.held]), [0, 1, 2].map((slot) => [`${name}#${slot}`, true]));

    const waiter = startCli(['wait', '--slots', String(slots), name]);
    await delay(500);
    assert.equal(waiter.child.exitCode, null, 'waits while every slot is held');
    writeFileSync(join(dir, 'stop-1'), '');
    assert.equal((await waiter.done).code, 0);
    const partly = await cli(['status', '--slots', String(slots), name]);
    assert.equal(partly.code, 1, 'a slot is free');
    assert.match(partly.stdout, new RegExp(`${name}#1 is free`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(racers.map((racer) => racer.done));
  }
});

test('SIGINT during the delay between two runs ends the loop at once, by SIGINT (no command ran to answer it)', async () => {
  const name = lockName('cli-loop-int');
  const run = startCli(['run', '--until-success', name, '--', 'sh', '-c', 'echo run; exit 5']);
  await run.waitFor('run');
  for (let i = 0; !run.stderr.includes('running it again in 1s') && i < 300; i++) await delay(50);
  assert.match(run.stderr, /command ended \(status 5\); running it again in 1s/);
  run.child.kill('SIGINT');
  const ended = await run.done;
  assert.deepEqual([ended.code, ended.signal], [null, 'SIGINT'], ended.stderr);
  assert.equal(count(ended.stdout, 'run'), 1, 'not run again');
  assert.equal((await cli(['status', name])).code, 1);
});

test('signals other than INT and TERM reach the current command and do not end the loop', async () => {
  const name = lockName('cli-loop-usr1');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-usr1-'));
  // Each run says it is ready, then exits 0 on SIGUSR1: the loop runs it again.
  const script = `trap 'echo got-usr1; exit 0' USR1; echo ready; while [ -d ${dir} ]; do sleep 0.05; done; exit 1`;
  const run = startCli(['run', '--until-failure', name, '--', 'sh', '-c', script]);
  try {
    await run.waitFor('ready');
    run.child.kill('SIGUSR1');
    await run.waitFor('got-usr1');
    for (let i = 0; count(run.stdout, 'ready') < 2 && i < 300; i++) await delay(50);
    assert.equal(count(run.stdout, 'ready'), 2, 'ran again after the USR1 exit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The directory is gone: this run exits 1, which ends an --until-failure loop with status 1.
  const ended = await run.done;
  assert.equal(ended.code, 1, ended.stderr);
});
