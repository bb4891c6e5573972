// run-one's habit: `onlyone run -- COMMAND [ARG...]` with no NAME locks the command line itself.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { cli, startCli } from './cli-helpers.mjs';

// Derived names cannot carry lockName()'s "test-" tag: a prefix of their own keeps them out of the
// onlyone/v1/ namespace that names.test.mjs watches for stray sockets.
const PREFIX = ['--prefix', 'test-auto-name/'];

/** Starts `onlyone run -- sh -c SCRIPT tag ...extra` whose command holds until released; the tag keeps the command line unique to this test. */
async function holdCommand(t, extra) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-auto-'));
  const stop = join(dir, 'stop');
  // Only the command line under test holds; the variants the tests run next exit at once.
  const script = `[ "$1" = "b c" ] || exit 0; echo ready; while [ ! -e ${stop} ]; do sleep 0.05; done`;
  const argv = ['sh', '-c', script, `tag-${randomBytes(4).toString('hex')}`, ...extra];
  // sh -c SCRIPT $0 $1...: the tag is $0, so "b c" is $1.
  const run = startCli(['run', ...PREFIX, '--', ...argv]);
  await run.waitFor('ready');
  let released;
  const release = () => {
    released ??= (async () => { writeFileSync(stop, ''); const r = await run.done; rmSync(dir, { recursive: true, force: true }); return r; })();
    return released;
  };
  t.after(release);
  return { run, argv, release };
}

test('two identical command lines without NAME exclude each other; the conflict names the command', async (t) => {
  const { argv, release } = await holdCommand(t, ['b c']);
  const second = await cli(['run', ...PREFIX, '--', ...argv]);
  assert.equal(second.code, 75, second.stderr);
  assert.match(second.stderr, /^onlyone: 'sh -c .*' \(lock cmd-sh-[0-9a-f]{32}\) is already running \(pid \d+/m);
  const status = await cli(['status', ...PREFIX, '--json', second.stderr.match(/lock (cmd-sh-[0-9a-f]{32})/)[1]]);
  assert.deepEqual(JSON.parse(status.stdout).argv, argv, 'status shows the command');
  const list = await cli(['list', ...PREFIX]);
  assert.ok(list.stdout.split('\n').some((line) => line.startsWith('cmd-sh-') && line.includes(argv[3])), list.stdout);
  assert.equal((await release()).code, 0);
});

test('arguments are hashed with NUL separators: a "b c" and a b c are different locks', async (t) => {
  const { argv } = await holdCommand(t, ['b c']);
  // The same words split differently: a different command line, so not a conflict.
  const other = await cli(['run', ...PREFIX, '--', ...argv.slice(0, -1), 'b', 'c']);
  assert.equal(other.code, 0, other.stderr);
  const joined = await cli(['run', ...PREFIX, '--', ...argv.slice(0, -1), 'bc']);
  assert.equal(joined.code, 0, joined.stderr);
});

test('-c STRING without NAME: the name depends on STRING, not on $SHELL (cron has SHELL=/bin/sh, a login shell bash)', async () => {
  const names = [];
  const tag = randomBytes(4).toString('hex');
  for (const shell of ['/bin/sh', '/bin/bash']) {
    const result = await cli(['run', ...PREFIX, '-c', `echo "$ONLYONE_NAME" # ${tag}`], { env: { SHELL: shell } });
    assert.equal(result.code, 0, result.stderr);
    names.push(result.stdout);
  }
  assert.match(names[0], /^cmd-sh-[0-9a-f]{32}\n$/);
  assert.equal(names[1], names[0]);
});
