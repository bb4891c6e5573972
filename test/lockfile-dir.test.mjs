// --dir / the `dir` option creates only the last component of a missing lock directory.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquire } from '../dist/index.js';
import { lockName } from './helpers.mjs';
import { cli } from './cli-helpers.mjs';

test('a lock directory is created only as its last component; a missing parent is a clear error, nothing created', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'onlyone-dir-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const last = join(base, 'locks');
  const lock = await acquire(lockName('dir'), { backend: 'lockfile', dir: last });
  await lock.release();
  assert.equal(statSync(last).mode & 0o777, 0o700, 'the last component is created, 0700 in user scope');

  const deep = join(base, 'missing', 'deep', 'dir');
  await assert.rejects(acquire(lockName('dir'), { backend: 'lockfile', dir: deep }), (error) => {
    assert.equal(error.code, 'ERR_INVALID_OPTION');
    assert.match(error.message, new RegExp(`its parent ${join(base, 'missing', 'deep')} does not exist`, 'u'));
    return true;
  });
  const viaCli = await cli(['run', '--backend', 'lockfile', '--dir', deep, lockName('dir'), '--', 'true']);
  assert.equal(viaCli.code, 64, viaCli.stderr);
  assert.match(viaCli.stderr, /^onlyone: the lock directory .* does not exist \(onlyone creates only the last component\); create the parent or pass another --dir$/mu);
  assert.equal(existsSync(join(base, 'missing')), false, 'nothing of the missing path was created');
});
