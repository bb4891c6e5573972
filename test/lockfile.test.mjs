// Tests specific to the lockfile backend: stale sockets, the unlink+bind race, flock(1) interop, unsafe
// directories, network namespaces, handing the lock to a child, and koffi being unavailable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, lchownSync, symlinkSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative as relativePath } from 'node:path';
import { acquire, tryAcquire, status, statusSlots, list, send, LockBusyError } from '../dist/index.js';
import { lockName, startHolder, exitOf, fdCount, fixture, jsonLines, distEntry } from './helpers.mjs';
import { runnableFor } from './identity-helpers.mjs';

const isRoot = process.getuid?.() === 0;
const hasFlock = spawnSync('flock', ['--version']).status === 0;

/** Kills `holder` when the test ends, however it ends, so a failed assertion cannot leave it running. */
function track(t, holder) {
  t.after(() => {
    if (holder.child.exitCode === null && holder.child.signalCode === null) holder.child.kill('SIGKILL');
  });
  return holder;
}

const relativeTo = (dir) => relativePath(process.cwd(), dir);

/** A private lock directory for one test, removed afterwards. */
function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'oo-lf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Leaves a stale socket file at `path`, as a SIGKILLed holder does: bind elsewhere, rename the socket file
 * into place, then close the listener (libuv's unlink of the old path then finds nothing).
 */
async function staleSocket(path) {
  const server = net.createServer();
  const temp = `${path}.tmp`;
  await new Promise((resolve) => server.listen(temp, resolve));
  renameSync(temp, path);
  await new Promise((resolve) => server.close(resolve));
  assert.ok(lstatSync(path).isSocket());
}

/**
 * Runs `flock -n lockPath` in its own process group until `kill()`; resolves once it holds the lock.
 * The whole group is killed: a signalled flock(1) leaves its command running with the lock.
 */
async function flockHolder(lockPath) {
  const child = spawn('flock', ['-n', lockPath, 'sh', '-c', 'echo locked; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  child.stdout.setEncoding('utf8');
  const [line] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(([code]) => { throw new Error(`flock exited with ${code}`); })]);
  assert.match(line, /locked/);
  return {
    pid: child.pid,
    kill() {
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    },
  };
}

test('lock and socket files live in dir, with private modes, and are close-on-exec', async (t) => {
  const dir = tempDir(t);
  const name = lockName('files');
  const lock = await acquire(name, { backend: 'lockfile', dir });
  try {
    assert.equal(lock.backend, 'lockfile');
    assert.equal(lock.address, join(dir, `${name}.lock`));
    assert.equal(statSync(lock.address).mode & 0o777, 0o600);
    const sock = lstatSync(join(dir, `${name}.sock`));
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o777, 0o600);
    assert.equal(typeof lock.fd, 'number');
    const flags = Number.parseInt(/flags:\s+([0-7]+)/u.exec(readFileSync(`/proc/self/fdinfo/${lock.fd}`, 'utf8'))[1], 8);
    assert.ok((flags & 0o2000000) !== 0, 'the lock fd is O_CLOEXEC');
  } finally {
    await lock.release();
  }
  assert.ok(existsSync(join(dir, `${name}.lock`)), 'NAME.lock is never unlinked');
  assert.ok(!existsSync(join(dir, `${name}.sock`)), 'a clean release removes NAME.sock');
});

test('system scope: lock file 0644, socket 0666 so other users can wait on it', async (t) => {
  const dir = tempDir(t);
  const lock = await acquire(lockName('sys'), { backend: 'lockfile', dir, scope: 'system' });
  try {
    assert.equal(statSync(lock.address).mode & 0o777, 0o644);
    assert.equal(statSync(lock.address.replace(/\.lock$/u, '.sock')).mode & 0o777, 0o666);
  } finally {
    await lock.release();
  }
});

test('system scope across users: another user waits on, sees and then takes a root-created lock', { skip: !isRoot && 'needs root to run a process as another user' }, async (t) => {
  const base = tempDir(t);
  chmodSync(base, 0o755);
  const dir = join(base, 'system');
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  const name = lockName('users');
  const options = { backend: 'lockfile', dir, scope: 'system' };
  const asNobody = (code) => {
    const nobody = runnableFor({ uid: 65534, gid: 65534 });
    const script = `import { acquire, tryAcquire, status } from ${JSON.stringify(nobody.distEntry)};
      const options = ${JSON.stringify(options)}; const name = ${JSON.stringify(name)};
      ${code}`;
    const result = spawnSync(nobody.node, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: '/', encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const holder = track(t, startHolder(name, { options }));
  assert.equal((await holder.events.next()).event, 'acquired');
  assert.deepEqual(asNobody('const l = await tryAcquire(name, options); console.log(JSON.stringify({ got: l !== undefined, pid: (await status(name, options))?.pid }));'), { got: false, pid: holder.pid });
  holder.child.stdin.end();
  assert.equal((await holder.events.next()).event, 'released');
  const taken = asNobody('const l = await acquire(name, options); const uid = (await status(name, options))?.uid; await l.release(); console.log(JSON.stringify({ uid }));');
  assert.deepEqual(taken, { uid: 65534 }, 'the other user locked the file root created');
  const lock = await acquire(name, options);
  await lock.release();
});

test('status, list and LockBusyError report a lockfile holder verified by the kernel: pid, uid, start time', async (t) => {
  const dir = tempDir(t);
  const name = lockName('verified');
  const options = { backend: 'lockfile', dir };
  const holder = track(t, startHolder(name, { options }));
  assert.equal((await holder.events.next()).event, 'acquired');
  const startTime = Number(readFileSync(`/proc/${holder.pid}/stat`, 'latin1').split(') ')[1].split(' ')[19]);
  const seen = await status(name, options);
  assert.equal(seen.verified, true, seen.unverifiedReason);
  assert.equal(seen.unverifiedReason, undefined);
  assert.deepEqual([seen.pid, seen.uid, seen.startTime, seen.name, seen.backend], [holder.pid, process.getuid(), startTime, name, 'lockfile']);
  assert.ok(seen.cmdline.some((arg) => arg.endsWith('holder.mjs')), `cmdline ${seen.cmdline}`);
  const listed = (await list(options)).find((h) => h.name === name);
  assert.deepEqual([listed?.pid, listed?.uid, listed?.verified], [holder.pid, process.getuid(), true]);
  const busy = await acquire(name, options).catch((error) => error);
  assert.ok(busy instanceof LockBusyError);
  assert.deepEqual([busy.holder.pid, busy.holder.verified], [holder.pid, true]);
  // Without koffi there is no SO_PEERCRED; /proc/PID/fd confirms the hello's pid holds the socket's inode.
  const script = `import { status } from ${JSON.stringify(distEntry)}; console.log(JSON.stringify(await status(${JSON.stringify(name)}, ${JSON.stringify(options)})));`;
  const noKoffi = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ONLYONE_NO_KOFFI: '1' }, encoding: 'utf8' });
  assert.equal(noKoffi.status, 0, noKoffi.stderr);
  const fromProc = JSON.parse(noKoffi.stdout);
  assert.deepEqual([fromProc.pid, fromProc.uid, fromProc.verified], [holder.pid, process.getuid(), true], fromProc.unverifiedReason);
  holder.child.stdin.end();
  assert.equal((await holder.events.next()).event, 'released');
});

test('messages reach a lockfile holder through send() and LockBusyError#send', async (t) => {
  const dir = tempDir(t);
  const name = lockName('msg');
  const options = { backend: 'lockfile', dir };
  const lock = await acquire(name, { ...options, onMessage: ({ data }) => ({ echo: data }) });
  try {
    assert.deepEqual(await send(name, { n: 1 }, options), { echo: { n: 1 } });
    const busy = await acquire(name, options).catch((error) => error);
    assert.ok(busy instanceof LockBusyError);
    assert.deepEqual(await busy.send('again'), { echo: 'again' });
  } finally {
    await lock.release();
  }
  await assert.rejects(send(name, 1, options), { code: 'ERR_NOT_HELD' });
});

test('slots: at most N holders, each on its own NAME#i files; a waiter gets the slot that frees', async (t) => {
  const dir = tempDir(t);
  const name = lockName('slots');
  const options = { backend: 'lockfile', dir, slots: 3 };
  const held = [await acquire(name, options), await acquire(name, options), await acquire(name, options)];
  try {
    assert.deepEqual(held.map((l) => l.slot).sort(), [0, 1, 2]);
    assert.ok(existsSync(join(dir, `${name}%231.lock`)), 'slot 1 is NAME#1, escaped');
    const busy = await acquire(name, options).catch((error) => error);
    assert.ok(busy instanceof LockBusyError);
    assert.deepEqual((await statusSlots(name, 3, { backend: 'lockfile', dir })).map((h) => h?.slot), [0, 1, 2]);
    const waiting = acquire(name, { ...options, wait: true, timeoutMs: 30_000 });
    await held[1].release();
    const next = await waiting;
    assert.equal(next.slot, 1);
    held[1] = next;
  } finally {
    for (const lock of held) await lock.release();
  }
  await assert.rejects(acquire(name, { ...options, replace: true }), { code: 'ERR_INVALID_OPTION', message: /replace/ });
});

test('names are escaped into the directory: no "/" or ".." escapes, and list gives them back', async (t) => {
  const dir = tempDir(t);
  const names = ['../../etc/passwd', '.hidden', '..', 'a/b', 'späße ✓', '%41'];
  const locks = [];
  for (const name of names) locks.push(await acquire(name, { backend: 'lockfile', dir }));
  try {
    for (const entry of readdirSync(dir)) {
      assert.ok(!entry.startsWith('.'), `${entry} is not hidden`);
      assert.ok(statSync(join(dir, entry)), 'every file is directly in dir');
    }
    assert.equal(readdirSync(dir).length, names.length * 2);
    assert.deepEqual((await list({ backend: 'lockfile', dir })).map((h) => h.name).sort(), [...names].sort());
    for (const name of names) assert.equal((await status(name, { backend: 'lockfile', dir }))?.pid, process.pid);
  } finally {
    for (const lock of locks) await lock.release();
  }
  assert.deepEqual(await list({ backend: 'lockfile', dir }), []);
});

test('a socket path longer than sun_path is refused with a clear error', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(acquire('x'.repeat(120), { backend: 'lockfile', dir }), { code: 'ERR_INVALID_LOCK_NAME', message: /too long/ });
  const deep = join(dir, 'd'.repeat(100));
  await assert.rejects(acquire('x', { backend: 'lockfile', dir: deep }), { code: 'ERR_INVALID_OPTION', message: /`dir`.*too long/ });
});

test('SIGKILL leaves a stale NAME.sock; the next acquirer replaces it safely', async (t) => {
  const dir = tempDir(t);
  const name = lockName('stale');
  const options = { backend: 'lockfile', dir };
  const holder = track(t, startHolder(name, { options }));
  assert.equal((await holder.events.next()).event, 'acquired');
  assert.equal(await tryAcquire(name, options), undefined);
  holder.child.kill('SIGKILL');
  await exitOf(holder.child);
  const sockPath = join(dir, `${name}.sock`);
  assert.ok(lstatSync(sockPath).isSocket(), 'the dead holder left its socket file behind');
  assert.equal(await status(name, options), undefined, 'a stale socket is not a holder');
  const lock = await acquire(name, options);
  try {
    assert.equal((await status(name, options))?.pid, process.pid, 'the socket now answers for the new holder');
  } finally {
    await lock.release();
  }
});

test('a waiter wakes when a lockfile holder is SIGKILLed', async (t) => {
  const dir = tempDir(t);
  const name = lockName('wake');
  const holder = track(t, startHolder(name, { options: { backend: 'lockfile', dir } }));
  assert.equal((await holder.events.next()).event, 'acquired');
  const waiting = acquire(name, { backend: 'lockfile', dir, wait: true, timeoutMs: 30_000 });
  setTimeout(() => holder.child.kill('SIGKILL'), 100);
  const lock = await waiting;
  await lock.release();
});

test('deleting NAME.lock under a live holder does not let a second holder in', async (t) => {
  const dir = tempDir(t);
  const name = lockName('unlinked');
  const options = { backend: 'lockfile', dir };
  const holder = track(t, startHolder(name, { options }));
  assert.equal((await holder.events.next()).event, 'acquired');
  unlinkSync(join(dir, `${name}.lock`));
  // A fresh NAME.lock can be flock()ed, but the holder's socket is live, so it must not be replaced.
  assert.equal(await tryAcquire(name, options), undefined);
  const seen = await status(name, options);
  assert.equal(seen?.pid, holder.pid);
  // The kernel confirms who serves NAME.sock, but nobody holds the flock on the new NAME.lock.
  assert.equal(seen.verified, false);
  assert.match(seen.unverifiedReason, /nobody holds the flock/);
  holder.child.stdin.end();
  assert.equal((await holder.events.next()).event, 'released');
  const lock = await acquire(name, options);
  await lock.release();
});

test('20 processes racing on unlink+bind over a stale socket: exactly one winner per round', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const base = lockName('race');
  const ROUNDS = 25;
  const CONTENDERS = 20;
  // Every round starts with a stale socket file, so every winner has to unlink and re-bind.
  for (let round = 0; round < ROUNDS; round++) await staleSocket(join(dir, `${base}-${round}.sock`));
  const children = Array.from({ length: CONTENDERS }, () => {
    const child = spawn(process.execPath, [fixture('lockfile-race.mjs'), dir, base, String(ROUNDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
    return { child, events: jsonLines(child.stdout) };
  });
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(children.map((c) => c.events.next(60_000)));
      for (const result of results) {
        assert.equal(result.round, round);
        assert.equal(result.error, undefined, `round ${round}: ${result.error}`);
      }
      const winners = results.filter((r) => r.won);
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      assert.equal((await status(`${base}-${round}`, { backend: 'lockfile', dir }))?.pid, winners[0].pid);
      for (const c of children) c.child.stdin.write('next\n');
    }
    for (const { child } of children) child.stdin.end();
    for (const { child } of children) assert.deepEqual(await exitOf(child), { code: 0, signal: null });
  } finally {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('flock(1) interop: a lock file held by `flock -n` blocks onlyone', { skip: !hasFlock && 'flock(1) is not installed' }, async (t) => {
  const dir = tempDir(t);
  const name = lockName('flock1');
  const options = { backend: 'lockfile', dir };
  const flocker = await flockHolder(join(dir, `${name}.lock`));
  try {
    assert.equal(await tryAcquire(name, options), undefined);
    const error = await acquire(name, options).catch((e) => e);
    assert.ok(error instanceof LockBusyError);
    // flock(1) serves no hello; /proc/locks names it, and it still has the file open.
    assert.equal(error.holder?.pid, flocker.pid);
    assert.deepEqual(error.holder?.argv.slice(0, 2), ['flock', '-n']);
    assert.equal(error.holder.verified, false, 'a holder that serves no socket is never verified');
    assert.match(error.holder.unverifiedReason, /serves no socket/);
    assert.equal((await status(name, options))?.name, name);
    assert.deepEqual((await list(options)).map((h) => h.name), [name]);
    // A waiter has no socket to watch: it backs off, and gets the lock once flock(1) goes away.
    const waiting = acquire(name, { ...options, wait: true, timeoutMs: 30_000, pollIntervalMs: 50 });
    setTimeout(() => flocker.kill(), 100);
    const lock = await waiting;
    await lock.release();
  } finally {
    flocker.kill();
  }
});

test('flock(1) interop: a lock held by onlyone makes `flock -n` fail', { skip: !hasFlock && 'flock(1) is not installed' }, async (t) => {
  const dir = tempDir(t);
  const name = lockName('flock2');
  const lock = await acquire(name, { backend: 'lockfile', dir });
  try {
    assert.equal(spawnSync('flock', ['-n', '-E', '75', lock.address, 'true']).status, 75);
  } finally {
    await lock.release();
  }
  assert.equal(spawnSync('flock', ['-n', '-E', '75', join(dir, `${name}.lock`), 'true']).status, 0);
});

test('a Python holder following docs/protocol.md excludes onlyone, and its exit wakes a waiter', { skip: spawnSync('python3', ['-c', '0']).status !== 0 && 'python3 is not installed' }, async (t) => {
  const dir = tempDir(t);
  const name = lockName('py');
  const script = `
import fcntl, os, socket, sys
d, e = sys.argv[1], sys.argv[2]
fd = os.open(os.path.join(d, e + ".lock"), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(os.path.join(d, e + ".sock"))
s.listen(16)
print("locked", flush=True)
sys.stdin.read()
`;
  const child = spawn('python3', ['-c', script, dir, name], { stdio: ['pipe', 'pipe', 'inherit'] });
  track(t, { child });
  child.stdout.setEncoding('utf8');
  assert.match((await once(child.stdout, 'data'))[0], /locked/);
  const options = { backend: 'lockfile', dir, helloTimeoutMs: 200 };
  assert.equal(await tryAcquire(name, options), undefined);
  const holder = await status(name, options);
  // It says no hello, but it listens on NAME.sock and holds the flock: the kernel names it.
  assert.deepEqual([holder?.pid, holder?.verified, holder?.name], [child.pid, true, name], holder?.unverifiedReason);
  const waiting = acquire(name, { ...options, wait: true, timeoutMs: 30_000 });
  setTimeout(() => child.stdin.end(), 100);
  const lock = await waiting;
  await lock.release();
});

test('an unsafe directory is refused', async (t) => {
  const dir = tempDir(t);
  const open = join(dir, 'world-writable');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await assert.rejects(acquire(lockName('unsafe'), { backend: 'lockfile', dir: open }), { code: 'ERR_INVALID_OPTION', message: /world-writable without the sticky bit/ });
  const sticky = join(dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const lock = await acquire(lockName('sticky'), { backend: 'lockfile', dir: sticky });
  await lock.release();
  const notDir = join(dir, 'file');
  await (await import('node:fs/promises')).writeFile(notDir, '');
  await assert.rejects(acquire(lockName('file'), { backend: 'lockfile', dir: notDir }), { code: 'ERR_INVALID_OPTION' });
});

test('a directory owned by another user is refused', { skip: !isRoot && 'needs root to chown a directory to another user' }, async (t) => {
  const dir = tempDir(t);
  const foreign = join(dir, 'foreign');
  mkdirSync(foreign, { mode: 0o700 });
  chownSync(foreign, 65534, 65534);
  await assert.rejects(acquire(lockName('foreign'), { backend: 'lockfile', dir: foreign }), { code: 'ERR_INVALID_OPTION', message: /owned by uid 65534/ });
  // A symlink another user planted, pointing at a directory we own, is refused too.
  const mine = join(dir, 'mine');
  mkdirSync(mine, { mode: 0o700 });
  const planted = join(dir, 'planted');
  symlinkSync(mine, planted);
  lchownSync(planted, 65534, 65534);
  await assert.rejects(acquire(lockName('planted'), { backend: 'lockfile', dir: planted }), { code: 'ERR_INVALID_OPTION', message: /symlink owned by uid 65534/ });
});

test('two network namespaces sharing a directory see the same lock', async (t) => {
  if (!isRoot || spawnSync('unshare', ['-n', 'true']).status !== 0) {
    t.skip('SKIPPED: needs root and unshare(1) to create a network namespace');
    return;
  }
  const dir = tempDir(t);
  const name = lockName('netns');
  const child = spawn('unshare', ['-n', process.execPath, fixture('holder.mjs'), name, JSON.stringify({ backend: 'lockfile', dir })], { stdio: ['pipe', 'pipe', 'inherit'] });
  track(t, { child });
  const events = jsonLines(child.stdout);
  try {
    assert.equal((await events.next()).event, 'acquired');
    assert.equal(await tryAcquire(name, { backend: 'lockfile', dir }), undefined, 'the lockfile lock is shared');
    assert.equal((await status(name, { backend: 'lockfile', dir }))?.name, name, 'and its holder answers across namespaces');
    // The abstract backend, by contrast, is per network namespace (documented in the README).
    const other = spawn('unshare', ['-n', process.execPath, fixture('holder.mjs'), `${name}-abs`, '{}'], { stdio: ['pipe', 'pipe', 'inherit'] });
    track(t, { child: other });
    const otherEvents = jsonLines(other.stdout);
    assert.equal((await otherEvents.next()).event, 'acquired');
    const abstractLock = await tryAcquire(`${name}-abs`);
    assert.ok(abstractLock !== undefined, 'an abstract lock in another network namespace is invisible here');
    await abstractLock.release();
    other.stdin.end();
    await exitOf(other);
  } finally {
    child.stdin.end();
    await exitOf(child);
  }
});

test('the lock fd handed to a child keeps the flock after the parent exits', async (t) => {
  const dir = tempDir(t);
  const name = lockName('handoff');
  const parent = spawn(process.execPath, [fixture('lockfile-handoff.mjs'), name, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { pid } = await jsonLines(parent.stdout).next();
  assert.deepEqual(await exitOf(parent), { code: 0, signal: null });
  try {
    assert.equal(await tryAcquire(name, { backend: 'lockfile', dir }), undefined, 'the child keeps the lock');
    assert.equal((await status(name, { backend: 'lockfile', dir }))?.pid, 0, 'held, but nobody serves the socket');
  } finally {
    process.kill(pid, 'SIGKILL');
  }
  const lock = await acquire(name, { backend: 'lockfile', dir, wait: true, timeoutMs: 30_000, pollIntervalMs: 50 });
  await lock.release();
});

test('library children do not inherit the lock', async (t) => {
  const dir = tempDir(t);
  const name = lockName('cloexec');
  const holder = track(t, startHolder(name, { options: { backend: 'lockfile', dir }, mode: 'spawn-child' }));
  assert.equal((await holder.events.next()).event, 'acquired');
  const { pid } = await holder.events.next();
  try {
    holder.child.kill('SIGKILL');
    await exitOf(holder.child);
    const lock = await tryAcquire(name, { backend: 'lockfile', dir });
    assert.ok(lock !== undefined, 'the sleeping child does not hold the lock');
    await lock.release();
  } finally {
    process.kill(pid, 'SIGKILL');
  }
});

test('acquire and release leak no descriptors', async (t) => {
  const dir = tempDir(t);
  const name = lockName('leak');
  const warm = await acquire(name, { backend: 'lockfile', dir });
  await warm.release();
  const before = fdCount();
  for (let i = 0; i < 30; i++) {
    const lock = await acquire(name, { backend: 'lockfile', dir });
    assert.equal(await tryAcquire(name, { backend: 'lockfile', dir }), undefined);
    await assert.rejects(acquire(name, { backend: 'lockfile', dir }), LockBusyError);
    assert.equal((await status(name, { backend: 'lockfile', dir }))?.pid, process.pid);
    await lock.release();
    assert.equal(await status(name, { backend: 'lockfile', dir }), undefined);
    await assert.rejects(acquire(name, { backend: 'lockfile', dir: join(dir, 'x'.repeat(120)) }), { code: 'ERR_INVALID_OPTION' });
  }
  assert.equal(fdCount(), before);
});

test('default directory, ONLYONE_BACKEND, and a clear error without koffi', async (t) => {
  const runtime = tempDir(t);
  const script = `
    import { tryAcquire } from ${JSON.stringify(distEntry)};
    const out = {};
    try { const l = await tryAcquire(process.env.LOCK_NAME); out.backend = l.backend; out.address = l.address; await l.release(); } catch (e) { out.code = e.code; out.message = e.message; }
    if (process.env.ALSO_ABSTRACT) { const l = await tryAcquire('y-' + process.pid, { backend: 'abstract' }); out.abstract = l.backend; await l.release(); }
    console.log(JSON.stringify(out));`;
  const run = (env, extra = []) => {
    const result = spawnSync(process.execPath, [...extra, '--input-type=module', '-e', script], { env: { ...process.env, LOCK_NAME: name, ...env }, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const name = lockName('env');
  // The default directory depends on the uid alone: a login shell (XDG_RUNTIME_DIR set), cron (unset, a
  // minimal PATH), a systemd unit (its own TMPDIR) and sudo -u (another HOME) all meet in /run/lock.
  const defaultDir = `/run/lock/onlyone-${process.geteuid()}`;
  const environments = [
    { XDG_RUNTIME_DIR: runtime },
    { XDG_RUNTIME_DIR: '' },
    { XDG_RUNTIME_DIR: '', TMPDIR: runtime, HOME: '/', PATH: '/usr/bin:/bin' },
    { XDG_RUNTIME_DIR: `/run/user/${process.geteuid()}`, USER: 'someone', LOGNAME: 'someone' },
  ];
  for (const env of environments) {
    const viaEnv = run({ ONLYONE_BACKEND: 'lockfile', ...env });
    assert.deepEqual(viaEnv, { backend: 'lockfile', address: join(defaultDir, `${name}.lock`) }, JSON.stringify(env));
  }
  rmSync(join(defaultDir, `${name}.lock`));
  assert.equal(statSync(defaultDir).mode & 0o777, 0o700);
  assert.equal(statSync(defaultDir).uid, process.geteuid());
  assert.equal(run({ ONLYONE_BACKEND: 'nope' }).code, 'ERR_INVALID_OPTION');
  // A relative dir is resolved against the working directory.
  const relative = await acquire(lockName('rel'), { backend: 'lockfile', dir: relativeTo(runtime) });
  assert.ok(relative.address.startsWith(`${runtime}/`));
  await relative.release();
  const noKoffi = run({ ONLYONE_BACKEND: 'lockfile', XDG_RUNTIME_DIR: runtime, ALSO_ABSTRACT: '1' }, ['--import', fixture('no-koffi.mjs')]);
  assert.equal(noKoffi.code, 'ERR_BACKEND');
  assert.match(noKoffi.message, /koffi/);
  assert.equal(noKoffi.abstract, 'abstract', 'the abstract backend works without koffi');
});
