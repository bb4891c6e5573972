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
    [['run', '--bogus', name, '--', 'true'], /unknown option '--bogus'/],
    [['run', '-E', 'x', name, '--', 'true'], /-E\/--conflict-exit-code takes an exit status/],
    [['run', '-E', '256', name, '--', 'true'], /from 0 to 255/],
    [['run', '--scope', 'galaxy', name, '--', 'true'], /--scope must be 'user' or 'system'/],
    [['run', '--timeout', 'soon', name, '--', 'true'], /takes a number of seconds/],
    [['run', '--scope'], /--scope needs a value/],
    [['status'], /missing lock NAME/],
    [['status', name, 'extra'], /unexpected argument 'extra'/],
    [['status', '--wait', name], /unknown option '--wait'/],
    [['list', name], /unexpected argument/],
    [['wait'], /missing lock NAME/],
    [['wait', name, '--timeout', '-1'], /--timeout needs a value; for one that starts with '-', write --timeout=VALUE|takes a number of seconds/],
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
    assert.match(result.stderr, /^onlyone: --backend must be one of 'abstract'/m);
  }
  // etcd exists: a member that cannot be reached is ERR_BACKEND, EX_UNAVAILABLE.
  const noEtcd = await cli(['run', '--backend', 'etcd://127.0.0.1:9', lockName('cli-backend'), '--', 'true']);
  assert.equal(noEtcd.code, 69, noEtcd.stderr);
  assert.match(noEtcd.stderr, /cannot reach etcd at http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/);
  // postgres exists: a server that cannot be reached is ERR_BACKEND, EX_UNAVAILABLE.
  const unreachable = await cli(['run', '--backend', 'postgres://nobody@127.0.0.1:1/locks', lockName('cli-backend'), '--', 'true']);
  assert.equal(unreachable.code, 69, unreachable.stderr);
  assert.match(unreachable.stderr, /ECONNREFUSED/);
  // The library checks the idle timeout's lower bound before connecting; the CLI names its flag, in seconds.
  const tooShort = await cli(['run', '--backend', 'postgres://nobody@127.0.0.1:1/locks', '--idle-session-timeout', '0.1', lockName('cli-backend'), '--', 'true']);
  assert.equal(tooShort.code, 64, tooShort.stderr);
  assert.match(tooShort.stderr, /^onlyone: --idle-session-timeout must be at least 0\.2 seconds, got 0\.1$/m);
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

test('the CLI speaks one voice: one lowercase line naming flags, never parseArgs text or library option names', async () => {
  const name = lockName('cli-voice');
  const cases = [
    [['run', '-E', '-1', name, '--', 'true'], /^onlyone: (?:-E\/)?--conflict-exit-code needs a value; for one that starts with '-', write --conflict-exit-code=VALUE$/u],
    [['status', '--json=yes', name], 'onlyone: --json takes no value'],
    [['send', name, '--json'], 'onlyone: --json needs a value'],
    [['run', '--frobnicate', name, '--', 'true'], "onlyone: unknown option '--frobnicate'"],
    [['run', '--backend', 'nope', name, '--', 'true'], /^onlyone: --backend must be one of 'abstract', .*, got "nope"$/u],
  ];
  for (const [args, first] of cases) {
    const { code, stderr } = await cli(args);
    assert.equal(code, 64, args.join(' '));
    if (first instanceof RegExp) assert.match(stderr.split('\n')[0], first, args.join(' '));
    else assert.equal(stderr.split('\n')[0], first, args.join(' '));
    assert.doesNotMatch(stderr, /Did you forget|To specify|`\w+` option|ambiguous/u, args.join(' '));
  }
  // Library errors start lowercase too (PostgreSQL keeps its capital).
  const unreachable = await cli(['run', '--backend', 'postgres://nobody@127.0.0.1:1/locks', name, '--', 'true']);
  assert.match(unreachable.stderr, /^onlyone: cannot open a PostgreSQL session/u);
});

test('help --help is help, exit 0', async () => {
  const result = await cli(['help', '--help']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: onlyone COMMAND/u);
  assert.match(result.stdout, /help \[COMMAND\]/u);
});
