// Lock names and addresses: validation, the 108-byte padded encoding, and what the kernel lists.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { acquire, status, lockAddress, printableAddress, InvalidLockNameError, InvalidOptionError, SUN_PATH_BYTES } from '../dist/index.js';
import { libuvAtLeast } from '../dist/runtime.js';
import { lockName } from './helpers.mjs';

const uid = process.getuid();
const listed = () => readFileSync('/proc/net/unix', 'utf8').split('\n').filter((line) => line.includes('@onlyone/'));
// Only this process's own onlyone sockets count: other tests and other users bind theirs in parallel.
// An entry of /proc/net/unix is ours when its inode (7th field) is one of our socket fds.
const ownSocketInodes = () => new Set(readdirSync('/proc/self/fd').map((fd) => {
  try {
    return /^socket:\[(\d+)\]$/u.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return undefined; // the fd readdir itself used, closed by now
  }
}).filter((inode) => inode !== undefined));
const ownOnlyoneSockets = () => {
  const own = ownSocketInodes();
  return listed().filter((line) => own.has(line.trim().split(/\s+/u)[6]));
};

test('the address is NUL + prefix + scope + "/" + name, NUL-padded to exactly 108 bytes', () => {
  const address = lockAddress('backup', 'user', 'onlyone/v1/', uid);
  assert.equal(Buffer.byteLength(address), SUN_PATH_BYTES);
  assert.equal(address.replace(/\0+$/u, ''), `\0onlyone/v1/u${uid}/backup`);
  assert.equal(lockAddress('backup', 'system', 'onlyone/v1/', uid).replace(/\0+$/u, ''), '\0onlyone/v1/sys/backup');
  assert.equal(printableAddress(address), `@onlyone/v1/u${uid}/backup`);
  // Multi-byte names are measured in UTF-8 bytes, not UTF-16 units.
  assert.equal(Buffer.byteLength(lockAddress('ünïcødé-🔒', 'user', 'onlyone/v1/', uid)), SUN_PATH_BYTES);
});

test('/proc/net/unix lists the bound name with its 108-byte padding', async () => {
  const name = lockName('proc');
  const lock = await acquire(name);
  try {
    const line = listed().find((l) => l.includes(`/${name}@`));
    assert.ok(line, 'the lock is listed');
    const path = line.slice(line.indexOf('@onlyone/'));
    // The kernel prints every NUL byte, the leading one included, as "@": 108 characters in all.
    assert.equal(path.length, SUN_PATH_BYTES);
    assert.equal(path, `@onlyone/v1/u${uid}/${name}`.padEnd(SUN_PATH_BYTES, '@'));
  } finally {
    await lock.release();
  }
});

const prefixLength = Buffer.byteLength(`onlyone/v1/u${uid}/`);
const longest = 'x'.repeat(107 - prefixLength);
const invalid = [
  ['empty', '', /must not be empty/],
  ['NUL', 'a\0b', /control character U\+0000/],
  ['newline', 'a\nb', /control character U\+000A/],
  ['unit separator', 'a\u001fb', /U\+001F/],
  ['DEL', 'a\u007fb', /U\+007F/],
  ['C1 control', 'a\u0085b', /U\+0085/],
  ['lone high surrogate', 'x\uD800y', /lone surrogate/],
  ['lone low surrogate', 'x\uDC00', /lone surrogate/],
  ['one byte too long', `${longest}x`, /too long/],
  ['multi-byte char over the edge', `${longest.slice(1)}é`, /too long/],
  ['not a string', 42, /must be a string/],
];

for (const [what, name, message] of invalid) {
  test(`an invalid name is refused and nothing is bound: ${what}`, async () => {
    const before = ownOnlyoneSockets().length;
    await assert.rejects(acquire(name), (error) => {
      assert.ok(error instanceof InvalidLockNameError, `${error}`);
      assert.equal(error.code, 'ERR_INVALID_LOCK_NAME');
      assert.match(error.message, message);
      return true;
    });
    await assert.rejects(status(name), InvalidLockNameError);
    assert.ok(ownOnlyoneSockets().length <= before, 'no new onlyone socket was bound');
  });
}

test('the longest name that fits is accepted, and U+FFFD is a different lock from a lone surrogate', async () => {
  const lock = await acquire(longest);
  await lock.release();
  const replacement = await acquire(`x\uFFFDy-${lockName()}`);
  await replacement.release();
});

test('bad options are refused with a message naming the option', async () => {
  await assert.rejects(acquire(lockName(), { scope: 'world' }), (e) => e instanceof InvalidOptionError && /`scope`/.test(e.message));
  await assert.rejects(acquire(lockName(), { timeoutMs: -1, wait: true }), /`timeoutMs`/);
  await assert.rejects(acquire(lockName(), { signal: {} }), /`signal` option must be an AbortSignal/);
  await assert.rejects(acquire(lockName(), { prefix: 'a\nb' }), InvalidLockNameError);
  await assert.rejects(acquire(lockName(), { backend: 'redis' }), /`backend`/);
});

test('libuv older than 1.46 is refused', () => {
  assert.equal(libuvAtLeast('1.46.0', 1, 46), true);
  assert.equal(libuvAtLeast('1.48.0', 1, 46), true);
  assert.equal(libuvAtLeast('2.0.0', 1, 46), true);
  assert.equal(libuvAtLeast('1.45.0', 1, 46), false);
  assert.equal(libuvAtLeast('1.44.2', 1, 46), false);
});

test('scopes and prefixes are separate locks', async () => {
  const name = lockName('scope');
  const user = await acquire(name);
  const system = await acquire(name, { scope: 'system' });
  const snap = await acquire(name, { prefix: 'snap.demo.onlyone/' });
  assert.notEqual(user.address, system.address);
  assert.notEqual(user.address, snap.address);
  await Promise.all([user.release(), system.release(), snap.release()]);
});
