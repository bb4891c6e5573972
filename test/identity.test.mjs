// Kernel-verified holder identity, as seen by a process of the same user (no privileges needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { acquire, list, status, tryAcquire } from '../dist/index.js';
import { alive, delay, fdCount, lockName, startHolder } from './helpers.mjs';
import { actor, actorResult } from './identity-helpers.mjs';

const uid = process.getuid();
const startTimeOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
};

test('status reports a holder the kernel confirmed: pid, uid, user, start time, cmdline, heldForMs', async () => {
  const name = lockName('idstatus');
  const holder = startHolder(name);
  const acquired = await holder.events.next();
  try {
    const seen = await status(name);
    assert.equal(seen.verified, true, seen.unverifiedReason);
    assert.equal(seen.unverifiedReason, undefined);
    assert.equal(seen.pid, acquired.pid);
    assert.equal(seen.uid, uid);
    assert.equal(seen.user, uid === 0 ? 'root' : seen.user);
    assert.equal(typeof seen.user, 'string');
    assert.equal(seen.startTime, startTimeOf(acquired.pid));
    assert.ok(seen.cmdline.some((arg) => arg.endsWith('holder.mjs')), `cmdline ${seen.cmdline}`);
    assert.ok(seen.heldForMs >= 0 && seen.heldForMs < 600_000);
    assert.equal(seen.name, name);
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});

test('LockBusyError carries the verified holder', async () => {
  const name = lockName('idbusy');
  const holder = startHolder(name);
  const acquired = await holder.events.next();
  try {
    await assert.rejects(acquire(name), (error) => {
      assert.equal(error.code, 'ERR_LOCK_BUSY');
      assert.equal(error.holder.pid, acquired.pid);
      assert.equal(error.holder.verified, true);
      assert.equal(error.holder.uid, uid);
      return true;
    });
    assert.equal(await tryAcquire(name), undefined);
    // Identity checks open sockets and pidfds; none may stay open.
    const before = fdCount();
    for (let i = 0; i < 20; i++) {
      await acquire(name).catch(() => {});
      await status(name);
    }
    for (let i = 0; i < 100 && fdCount() !== before; i++) await delay(20);
    assert.equal(fdCount(), before);
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});

test('fd handoff: after the binder exits, the child holding the lock fd is reported, verified', async () => {
  const name = lockName('idhandoff');
  const { child, pid: binder } = await actorResult(['handoff', name, '{}']);
  try {
    assert.ok(!alive(binder) || readFileSync(`/proc/${binder}/stat`, 'latin1').includes(') Z'), 'the binder has exited');
    const seen = await status(name, { helloTimeoutMs: 300 });
    assert.equal(seen.pid, child);
    assert.equal(seen.verified, true, seen.unverifiedReason);
    assert.deepEqual(seen.argv, ['sleep', '60']);
    assert.deepEqual(seen.holderPids, [child]);
    assert.equal(seen.uid, uid);
    assert.equal(seen.name, name);
    assert.equal(seen.startTime, startTimeOf(child));
    await assert.rejects(acquire(name, { helloTimeoutMs: 300 }), (error) => error.code === 'ERR_LOCK_BUSY' && error.holder.pid === child);
    const listed = (await list({ helloTimeoutMs: 300 })).find((h) => h.name === name);
    assert.equal(listed?.pid, child);
    assert.equal(listed.verified, true);
  } finally {
    process.kill(child, 'SIGKILL');
  }
});

test('fd handoff with the binder still serving: the binder is reported (its hello is confirmed)', async () => {
  const name = lockName('idhandoff2');
  const run = actor(['handoff', name, '{}', 'stay']);
  const { child, pid } = await run.events.next();
  try {
    const seen = await status(name);
    assert.equal(seen.pid, pid);
    assert.equal(seen.verified, true, seen.unverifiedReason);
  } finally {
    process.kill(child, 'SIGKILL');
    await run.end();
  }
});

test('/proc fallback: with koffi forced off, a same-user holder is still verified, through /proc/PID/fd', async () => {
  const name = lockName('idproc');
  const holder = startHolder(name);
  const acquired = await holder.events.next();
  try {
    const { holder: seen, koffiLoaded } = await actorResult(['status', name, '{}'], { env: { ONLYONE_NO_KOFFI: '1' } });
    assert.equal(koffiLoaded, false);
    assert.equal(seen.pid, acquired.pid);
    assert.equal(seen.verified, true, seen.unverifiedReason);
    assert.equal(seen.uid, uid);
    // And the handoff case, with no credentials at all: found by scanning /proc/*/fd.
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
  const handoff = await actorResult(['handoff', name, '{}']);
  try {
    const { holder: seen } = await actorResult(['status', name, JSON.stringify({ helloTimeoutMs: 300 })], { env: { ONLYONE_NO_KOFFI: '1' } });
    assert.equal(seen.pid, handoff.child);
    assert.equal(seen.verified, true, seen.unverifiedReason);
  } finally {
    process.kill(handoff.child, 'SIGKILL');
  }
});

test('plain acquire does not load koffi, even while serving hello and ping; status does', async () => {
  const run = actor(['koffi-after-acquire', lockName('idkoffi')]);
  const first = await run.events.next();
  assert.deepEqual(first.frames, ['hello', 'pong']);
  assert.equal(first.koffiLoaded, false);
  const second = await run.events.next();
  assert.equal(second.verified, true);
  assert.equal(second.koffiLoaded, true, 'the check can see koffi once it is loaded');
  await run.end();
});

test('the holder answers a same-uid message (sender verified) and refuses it when it cannot verify the sender', async () => {
  const name = lockName('idmsg');
  const holder = actor(['hold', name, '{}']);
  await holder.events.next();
  try {
    const { answer } = await actorResult(['request', name, '{}', 'message']);
    assert.equal(answer.type, 'reply', JSON.stringify(answer));
    assert.equal(answer.data.echo, 'hi');
    assert.equal(answer.data.from.verified, true);
    assert.equal(answer.data.from.uid, uid);
  } finally {
    await holder.end();
  }
  const blind = actor(['hold', name, '{}'], { env: { ONLYONE_NO_KOFFI: '1' } });
  await blind.events.next();
  try {
    const { answer } = await actorResult(['request', name, '{}', 'message']);
    assert.equal(answer.type, 'error');
    assert.equal(answer.code, 'forbidden');
    assert.match(answer.message, /could not confirm/u);
    const { answer: pong } = await actorResult(['request', name, '{}', 'ping']);
    assert.equal(pong.type, 'pong');
  } finally {
    await blind.end();
  }
});

test('expectedUid turns a holder of another uid into ERR_LOCK_SQUATTED, in system scope too', async () => {
  const name = lockName('idexpect');
  const holder = startHolder(name, { options: { scope: 'system' } });
  await holder.events.next();
  try {
    const other = uid === 0 ? 4242 : 0;
    await assert.rejects(acquire(name, { scope: 'system', expectedUid: other }), (error) => {
      assert.equal(error.code, 'ERR_LOCK_SQUATTED');
      assert.match(error.message, new RegExp(`held by uid ${uid}\\b`, 'u'));
      assert.equal(error.holder.uid, uid);
      return true;
    });
    await assert.rejects(acquire(name, { scope: 'system', expectedUid: uid }), { code: 'ERR_LOCK_BUSY' });
    await assert.rejects(acquire(name, { scope: 'system' }), { code: 'ERR_LOCK_BUSY' });
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});

test('allowUids and expectedUid are validated by name', async () => {
  await assert.rejects(acquire(lockName(), { allowUids: [-1] }), { code: 'ERR_INVALID_OPTION', message: /allowUids/u });
  await assert.rejects(acquire(lockName(), { allowUids: 3 }), { code: 'ERR_INVALID_OPTION', message: /allowUids/u });
  await assert.rejects(status(lockName(), { expectedUid: 1.5 }), { code: 'ERR_INVALID_OPTION', message: /expectedUid/u });
});

test('list identifies every holder, including locks held by the listing process itself and silent children; the same without koffi', async () => {
  const prefix = `${lockName('idlist')}/`;
  const own = await Promise.all(['a', 'b', 'c'].map((n) => acquire(n, { prefix })));
  const handoff = await actorResult(['handoff', 'd', JSON.stringify({ prefix })]);
  try {
    const check = (holders) => {
      assert.deepEqual(holders.map((h) => h.name), ['a', 'b', 'c', 'd']);
      for (const holder of holders) assert.equal(holder.verified, true, holder.unverifiedReason);
      assert.deepEqual(holders.map((h) => h.pid), [process.pid, process.pid, process.pid, handoff.child]);
      assert.deepEqual(holders[3].argv, ['sleep', '60']);
    };
    const before = fdCount();
    check(await list({ prefix, helloTimeoutMs: 500 }));
    // The holders in this process close their side of each probe when they see it end: give them time.
    for (let i = 0; i < 100 && fdCount() !== before; i++) await delay(50);
    assert.equal(fdCount(), before, 'list leaves no descriptor open (sockets, pidfds)');
    const { holders, koffiLoaded } = await actorResult(['list', JSON.stringify({ prefix, helloTimeoutMs: 500 })], { env: { ONLYONE_NO_KOFFI: '1' } });
    assert.equal(koffiLoaded, false);
    check(holders);
  } finally {
    process.kill(handoff.child, 'SIGKILL');
    await Promise.all(own.map((lock) => lock.release()));
  }
});

test('list survives hostile holders: garbage, an endless line, silence; each is still identified from the kernel', async () => {
  const { default: net } = await import('node:net');
  const { lockAddress } = await import('../dist/index.js');
  const prefix = `${lockName('idhostile')}/`;
  const behaviours = {
    garbage: (socket) => socket.write('\u0000\u00ff not json\n'),
    endless: (socket) => socket.write(Buffer.alloc(200_000, 0x61)),
    silent: () => {},
    error: (socket) => socket.end('{"type":"error","code":"busy","message":"go away"}\n'),
  };
  const servers = await Promise.all(Object.entries(behaviours).map(([name, behave]) => new Promise((resolve) => {
    const server = net.createServer((socket) => { socket.on('error', () => {}); behave(socket); });
    server.listen({ path: lockAddress(name, 'user', prefix, uid), exclusive: true }, () => resolve(server));
  })));
  try {
    const holders = await list({ prefix, helloTimeoutMs: 500 });
    assert.deepEqual(holders.map((h) => h.name), ['endless', 'error', 'garbage', 'silent']);
    for (const holder of holders) {
      assert.equal(holder.pid, process.pid);
      assert.equal(holder.verified, true, holder.unverifiedReason);
      assert.equal(holder.protocol, 0, 'no valid hello');
    }
  } finally {
    for (const server of servers) server.close();
  }
});

test('an install without koffi\'s native binary (--omit=optional) falls back to /proc and never crashes', async () => {
  const { cpSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFileSync } = await import('node:child_process');
  const root = new URL('..', import.meta.url).pathname;
  const copy = mkdtempSync(join(tmpdir(), 'onlyone-nobinary-'));
  try {
    for (const part of ['dist', 'package.json', 'test/fixtures/identity-actor.mjs', 'node_modules/koffi']) cpSync(join(root, part), join(copy, part), { recursive: true });
    const name = lockName('idnobin');
    const holder = startHolder(name);
    const { pid } = await holder.events.next();
    try {
      const out = execFileSync(process.execPath, [join(copy, 'test/fixtures/identity-actor.mjs'), 'acquire', name, '{}'], { encoding: 'utf8' });
      const busy = JSON.parse(out);
      assert.equal(busy.code, 'ERR_LOCK_BUSY');
      assert.equal(busy.holder.pid, pid);
      assert.equal(busy.holder.verified, true, 'confirmed through /proc/PID/fd');
      assert.equal(busy.koffiLoaded, false);
    } finally {
      holder.child.stdin.end();
      await holder.exited;
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
