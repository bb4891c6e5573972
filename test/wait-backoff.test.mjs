// A waiter backs off from a holder that drops every connection (out of descriptors) instead of spinning
// (issue 12, item 7). Counted in connect(2) calls, traced by strace, not in time.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, lockName } from './helpers.mjs';

const hasStrace = spawnSync('strace', ['-V']).status === 0;
const WAIT_MS = 2000;

test('a waiter on a holder out of descriptors makes a few connects per second, not hundreds', { skip: hasStrace ? false : 'needs strace' }, async () => {
  const name = lockName('emfile-holder');
  const holder = spawn(process.execPath, [fixture('hold-exhausted.mjs'), name], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await once(holder.stdout, 'data');
    const traced = spawnSync('strace', ['-f', '--seccomp-bpf', '-c', '-e', 'trace=connect', process.execPath, fixture('waiter.mjs'), name, String(WAIT_MS)], { encoding: 'utf8' });
    assert.equal(traced.stdout.trim(), 'ERR_LOCK_TIMEOUT', traced.stderr);
    const row = traced.stderr.split('\n').find((line) => /\sconnect$/u.test(line));
    const connects = Number(row?.trim().split(/\s+/u)[3]);
    // Backing off doubles from 1 ms up to the 1 s poll: about a dozen in 2 s. Spinning made about 500 a second.
    assert.ok(connects < 60, `${connects} connects in ${WAIT_MS} ms`);
  } finally {
    holder.stdin.end();
    await once(holder, 'exit');
  }
});
