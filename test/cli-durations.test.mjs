// Durations (500ms, 5s, 2m, 1h, plain seconds) for every time option of the built CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { cli, holdWithCli } from './cli-helpers.mjs';

test('a duration after -w/--wait is the wait, never the lock NAME', async () => {
  for (const wait of [['-w', '5s'], ['--wait', '5s'], ['-w5s'], ['--wait=500ms'], ['-w', '2m'], ['-w', '1h'], ['-w', '0.5'], ['-w', '.5s'], ['--timeout', '1.5m'], ['-w', '2h30m'], ['-w', '1d']]) {
    const name = lockName('duration');
    const result = await cli(['run', ...wait, name, '--', 'sh', '-c', 'echo "$ONLYONE_NAME"']);
    assert.equal(result.code, 0, `${wait.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, `${name}\n`, wait.join(' '));
  }
});

test('a wait given in milliseconds runs out as a conflict', async () => {
  const name = lockName('duration-held');
  const holder = await holdWithCli(name);
  try {
    const result = await cli(['run', '-w', '300ms', name, '--', 'true']);
    assert.equal(result.code, 75, result.stderr);
    assert.match(result.stderr, /still running after waiting 0\.3s/);
  } finally {
    await holder.release();
  }
});

test('every time option takes durations; a malformed one is exit 64 naming the option', async () => {
  const name = lockName('duration-options');
  const good = [
    ['run', '--grace', '2m', name, '--', 'true'],
    ['run', '--restart-delay', '500ms', '--max-delay', '1h', '--until-success', name, '--', 'true'],
    ['wait', name, '--timeout', '1m'],
    ['stop', name, '--timeout', '250ms', '--kill-after', '1s'],
  ];
  for (const args of good) {
    const result = await cli(args);
    assert.notEqual(result.code, 64, `${args.join(' ')}: ${result.stderr}`);
  }
  const bad = [
    [['run', '-w', '5sec', name, '--', 'true'], '--wait/--timeout', '5sec'],
    [['run', '--wait=soon', name, '--', 'true'], '--wait/--timeout', 'soon'],
    [['run', '--timeout', '1y', name, '--', 'true'], '--wait/--timeout', '1y'],
    [['run', '--grace=-1s', name, '--', 'true'], '--grace', '-1s'],
    [['run', '--keep-running', '--restart-delay', '5 s', name, '--', 'true'], '--restart-delay', '5 s'],
    [['run', '--keep-running', '--max-delay', 'm', name, '--', 'true'], '--max-delay', 'm'],
    [['wait', name, '--timeout', '1.2.3'], '--timeout', '1.2.3'],
    [['send', name, '--timeout', '5x'], '--timeout', '5x'],
    [['stop', name, '--kill-after', '10mins'], '--kill-after', '10mins'],
    [['run', '-w', '5s5', name, '--', 'true'], '--wait/--timeout', '5s5'],
  ];
  for (const [args, option, value] of bad) {
    const result = await cli(args);
    assert.equal(result.code, 64, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.split('\n')[0], `onlyone: ${option} takes a number of seconds or a duration (500ms, 5s, 2m, 1h, or 1.5 for seconds), got '${value}'`);
  }
});

test('a duration longer than a timer can hold is refused, not turned into 1 ms', async () => {
  const result = await cli(['run', '-w', '30d', lockName('duration-long'), '--', 'true']);
  assert.equal(result.code, 64);
  assert.equal(result.stderr.split('\n')[0], "onlyone: --wait/--timeout takes at most 24d (a timer's limit), got '30d'");
});

test('a NAME that is a duration is refused: a misplaced wait does not lock "5s" and run the rest', async () => {
  const result = await cli(['run', '-q', '5s', 'backup', '--', 'true']);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /'5s' is a duration, not a lock NAME: to wait that long, write -w 5s NAME/);
  assert.equal(result.stdout, '');
});
