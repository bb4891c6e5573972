// A wait's deadline is honoured when it passes, even while the waiter is still connecting to the holder, not at
// the next safety poll (issue 12, item 6). The poll is set to ten minutes: a missed deadline hangs the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquire, LockTimeoutError } from '../dist/index.js';
import { lockName, startHolder } from './helpers.mjs';

const NEVER_POLL = { pollIntervalMs: 600_000 };

test('timeoutMs 0, 1 and 2 on a held lock reject with LockTimeoutError without waiting for the poll', { timeout: 60_000 }, async () => {
  const name = lockName('deadline');
  const holder = startHolder(name);
  try {
    assert.equal((await holder.events.next()).event, 'acquired');
    for (let round = 0; round < 20; round++) {
      for (const timeoutMs of [0, 1, 2]) {
        await assert.rejects(acquire(name, { wait: true, timeoutMs, ...NEVER_POLL }), (error) => {
          assert.ok(error instanceof LockTimeoutError, `${error}`);
          assert.equal(error.holder?.pid, holder.pid);
          return true;
        });
      }
    }
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});
