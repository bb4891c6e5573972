// --min-hold (ShedLock's lockAtLeastFor): the lock stays held for the given time after the start, even when the
// command ends sooner, so the next run waits for it; a stop in the meantime frees the lock at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { cli, startCli } from './cli-helpers.mjs';
import { BACKENDS, backendOptions, distEntry, lockName } from './helpers.mjs';

const { acquire, tryAcquire } = await import(distEntry);

for (const kind of BACKENDS) {
  test(`run --min-hold keeps the lock after a quick command ends (${kind})`, async (t) => {
    const name = lockName('hold');
    const where = backendOptions(kind);
    const args = ['--backend', kind, ...(where.dir === undefined ? [] : ['--dir', where.dir])];
    const first = startCli(['run', ...args, '--min-hold', '1h', name, '--', 'sh', '-c', 'echo done; exit 3']);
    t.after(() => first.child.kill('SIGKILL'));
    await first.waitFor('done');
    // The command has ended (its output is complete); the lock must still be held.
    const second = await cli(['run', ...args, name, '--', 'true']);
    assert.equal(second.code, 75, second.stderr);
    assert.match(second.stderr, /is already running/u);
    assert.equal((await cli(['status', ...args, name])).code, 0);
    // A stop ends the hold, and the lock is free at once.
    first.child.kill('SIGTERM');
    const ended = await first.done;
    assert.ok(ended.code !== null || ended.signal === 'SIGTERM', JSON.stringify(ended));
    assert.equal((await cli(['run', ...args, name, '--', 'true'])).code, 0);
  });
}

test('run --min-hold ends with the command\'s status once the hold is over', async () => {
  const result = await cli(['run', '--min-hold', '300ms', lockName('status'), '--', 'sh', '-c', 'exit 5']);
  assert.equal(result.code, 5);
});

test('library: release() with minHoldMs lets go only after the hold', async () => {
  const name = lockName('lib');
  const lock = await acquire(name, { minHoldMs: 3000 });
  const started = performance.now();
  let released = false;
  const releasing = lock.release().then(() => (released = true));
  // Another process still finds it held while release() waits out the hold.
  const probe = spawn(process.execPath, ['--input-type=module', '-e', `
    import { tryAcquire } from ${JSON.stringify(pathToFileURL(distEntry).href)};
    console.log((await tryAcquire(${JSON.stringify(name)})) === undefined ? 'busy' : 'free');`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  probe.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  await once(probe, 'exit');
  // Only meaningful if the probe ran within the hold (it normally takes a tenth of it).
  if (!released) assert.equal(out.trim(), 'busy');
  await releasing;
  const waited = performance.now() - started;
  // A lower bound only: the hold can last longer on a loaded machine, never shorter.
  assert.ok(waited >= 2990, `released after ${waited} ms`);
  assert.notEqual(await tryAcquire(name), undefined);
});

test('library: minHoldMs must be a whole number of ms', async () => {
  await assert.rejects(acquire(lockName('bad'), { minHoldMs: -1 }), { code: 'ERR_INVALID_OPTION', message: /`minHoldMs`/u });
  const result = await cli(['run', '--min-hold', 'later', lockName('bad'), '--', 'true']);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /--min-hold takes a duration/u);
});
