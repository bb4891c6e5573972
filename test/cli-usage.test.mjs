// Usage errors (exit 64), --help, --version and library errors mapped to exit codes, through the built CLI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { cli } from './cli-helpers.mjs';

test('usage errors print usage on stderr and exit 64', async () => {
  const name = lockName('cli-usage');
  const cases = [
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run', name], /missing COMMAND/],
    [['run'], /missing NAME and COMMAND/],
    [['run', '--bogus', name, '--', 'true'], /Unknown option '--bogus'/],
    [['run', '-E', 'x', name, '--', 'true'], /-E\/--conflict-exit-code takes an exit status/],
    [['run', '-E', '256', name, '--', 'true'], /from 0 to 255/],
    [['run', '--scope', 'galaxy', name, '--', 'true'], /--scope must be 'user' or 'system'/],
    [['run', '--timeout', 'soon', name, '--', 'true'], /takes a number of seconds/],
    [['run', '--scope'], /argument missing|requires an argument|--scope/],
    [['status'], /missing lock NAME/],
    [['status', name, 'extra'], /unexpected argument 'extra'/],
    [['status', '--wait', name], /Unknown option '--wait'/],
    [['list', name], /unexpected argument/],
    [['wait'], /missing lock NAME/],
    [['wait', name, '--timeout', '-1'], /Option '--timeout|takes a number of seconds/],
    [['help', 'nope'], /unknown command 'nope'/],
    [['run', '--idle-session-timeout', '5', name, '--', 'true'], /--idle-session-timeout needs the postgres backend/],
    [['run', '--backend', 'postgres://h/db', '--idle-session-timeout', 'soon', name, '--', 'true'], /takes a number of seconds/],
  ];
  for (const [args, message] of cases) {
    const result = await cli(args);
    assert.equal(result.code, 64, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '', args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
    assert.match(result.stderr, /^Usage: onlyone /m, args.join(' '));
  }
});

test('names and options the library refuses exit 64 with its message', async () => {
  const badName = await cli(['run', 'a\u0001b', '--', 'true']);
  assert.equal(badName.code, 64);
  assert.match(badName.stderr, /control character U\+0001/);
  const tooLong = await cli(['status', 'x'.repeat(200)]);
  assert.equal(tooLong.code, 64);
  assert.match(tooLong.stderr, /too long/);
  // A backend the library does not have, named or as a URL, is the library's ERR_INVALID_OPTION.
  for (const backend of ['redis', 'redis://127.0.0.1:6379']) {
    const result = await cli(['run', '--backend', backend, lockName('cli-backend'), '--', 'true']);
    assert.equal(result.code, 64, result.stderr);
    assert.match(result.stderr, /The `backend` option must be one of 'abstract'/);
  }
  // etcd exists: a member that cannot be reached is ERR_BACKEND, EX_UNAVAILABLE.
  const noEtcd = await cli(['run', '--backend', 'etcd://127.0.0.1:9', lockName('cli-backend'), '--', 'true']);
  assert.equal(noEtcd.code, 69, noEtcd.stderr);
  assert.match(noEtcd.stderr, /Cannot reach etcd at http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/);
  // postgres exists: a server that cannot be reached is ERR_BACKEND, EX_UNAVAILABLE.
  const unreachable = await cli(['run', '--backend', 'postgres://nobody@127.0.0.1:1/locks', lockName('cli-backend'), '--', 'true']);
  assert.equal(unreachable.code, 69, unreachable.stderr);
  assert.match(unreachable.stderr, /ECONNREFUSED/);
  // The library checks the idle timeout's lower bound before connecting, naming its own option.
  const tooShort = await cli(['run', '--backend', 'postgres://nobody@127.0.0.1:1/locks', '--idle-session-timeout', '0.1', lockName('cli-backend'), '--', 'true']);
  assert.equal(tooShort.code, 64, tooShort.stderr);
  assert.match(tooShort.stderr, /idleSessionTimeoutMs/);
  assert.equal((await cli(['run', '--backend', 'abstract', lockName('cli-backend'), '--', 'true'])).code, 0);
});

test('--help on every command, with the exit-code table; --version', async () => {
  for (const args of [['--help'], ['-h'], ['help'], ['run', '--help'], ['status', '-h'], ['list', '--help'], ['wait', '--help'], ['help', 'run']]) {
    const result = await cli(args);
    assert.equal(result.code, 0, args.join(' '));
    assert.match(result.stdout, /^Usage: onlyone/, args.join(' '));
    assert.equal(result.stderr, '');
  }
  const main = (await cli(['--help'])).stdout;
  const run = (await cli(['run', '--help'])).stdout;
  for (const code of ['64', '69', '70', '75', '77', '79', '126', '127']) {
    assert.match(main, new RegExp(`^  ${code} `, 'm'));
    assert.match(run, new RegExp(`^  ${code} `, 'm'));
  }
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  for (const flag of ['--version', '-V']) {
    const result = await cli([flag]);
    assert.deepEqual([result.code, result.stdout], [0, `onlyone ${version}\n`]);
  }
});
