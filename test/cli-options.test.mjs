// Usage errors and --help of the issue-5 commands and options (send, stop, --slots, loops, messages), built CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { cli } from './cli-helpers.mjs';

test('issue-5 options: contradictions and bad values are usage errors (exit 64)', async () => {
  const name = lockName('cli-options');
  const cases = [
    [['run', '--keep-running', '--until-success', name, '--', 'true'], /--keep-running and --until-success cannot be used together/],
    [['run', '--on-message', 'cat', '--on-message-signal', 'HUP', name, '--', 'true'], /--on-message and --on-message-signal/],
    [['run', '--on-message-signal', 'NOPE', name, '--', 'true'], /unknown signal 'NOPE'/],
    [['run', '--slots', '0', name, '--', 'true'], /--slots takes a number from 1 to 1024/],
    [['run', '--forward', '--wait', name, '--', 'true'], /--forward and --wait/],
    [['run', '--replace', '--forward', name, '--', 'true'], /--replace and --forward/],
    [['status', '--slots', 'x', name], /--slots takes a number/],
    [['send'], /missing lock NAME/],
    [['send', name, '--timeout', '0'], /more than 0/],
    [['stop'], /missing lock NAME/],
    [['stop', name, '--kill-after', 'later'], /takes a number of seconds/],
  ];
  for (const [args, message] of cases) {
    const result = await cli(args);
    assert.equal(result.code, 64, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.match(result.stderr, /^Usage: onlyone /m, args.join(' '));
  }
});

test('--help for send and stop, and the new exit codes and options in the help texts', async () => {
  for (const args of [['send', '--help'], ['stop', '-h'], ['help', 'send']]) {
    const result = await cli(args);
    assert.equal(result.code, 0, args.join(' '));
    assert.match(result.stdout, /^Usage: onlyone (send|stop)/, args.join(' '));
  }
  const main = (await cli(['--help'])).stdout;
  for (const code of ['1', '65', '76', '124']) assert.match(main, new RegExp(`^  ${code} `, 'm'));
  assert.match(main, /^  send NAME/m);
  assert.match(main, /^  stop NAME/m);
  const run = (await cli(['run', '--help'])).stdout;
  for (const option of ['--slots N', '--replace', '--forward', '--on-message CMD', '--on-message-signal SIG', '--keep-running', '--until-success', '--until-failure']) {
    assert.match(run, new RegExp(`^  ${option.replace(/[-]/g, '\\-')} `, 'm'), option);
  }
  assert.match((await cli(['status', '--help'])).stdout, /--slots N/);
  assert.match((await cli(['wait', '--help'])).stdout, /--slots N/);
});
