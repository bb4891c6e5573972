// Messages with replies, against real holder processes (test/fixtures/holder.mjs).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { send, acquire, status, lockAddress, LockBusyError, RemoteError, NotHeldError, MessageTooLargeError, InvalidMessageError, SendTimeoutError } from '../dist/index.js';
import { execFileSync } from 'node:child_process';
import { lockName, startHolder, exitOf, distEntry, rawClient } from './helpers.mjs';

const MiB = 1024 * 1024;

async function holding(mode, options = {}) {
  const name = lockName(`msg-${mode}`);
  const holder = startHolder(name, { mode, options });
  const event = await holder.events.next(20_000);
  assert.equal(event.event, 'acquired', JSON.stringify(event));
  return { name, holder };
}

async function stop({ holder }) {
  holder.child.stdin.end();
  await exitOf(holder.child);
}


describe('send to an echoing holder', () => {
  let h;
  before(async () => { h = await holding('echo'); });
  after(async () => { await stop(h); });

  test('every JSON type round-trips exactly', async () => {
    const values = [
      null, true, false, 0, -0.5, 1e308, -1e-308, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
      '', 'plain', 'quotes " \' ` and \\ backslash', 'line\nbreak\r\n\ttab', 'nul \u0000 inside', 'emoji 😀 日本語 é',
      'separators \u2028 \u2029', 'lone surrogate \ud800 kept',
      [], [1, 'two', null, [3, [4]], { five: 5 }], {}, { nested: { deep: { deeper: [true, false, null] } }, 'key with spaces': 1, '': 'empty key' },
      { ['__proto__']: { polluted: true } },
    ];
    for (const value of values) {
      const reply = await send(h.name, value, { argv: ['x'], cwd: '/' });
      assert.deepEqual(reply.data, value, `value ${JSON.stringify(value)}`);
    }
    const protoReply = await send(h.name, JSON.parse('{"__proto__":{"polluted":true}}'));
    assert.ok(Object.hasOwn(protoReply.data, '__proto__'));
    assert.equal({}.polluted, undefined);
  });

  test('send(name) with no data sends null', async () => {
    const reply = await send(h.name);
    assert.equal(reply.data, null);
  });

  test('argv and cwd arrive byte-for-byte, in order', async () => {
    const argv = ['/usr/bin/app', 'two words', '"double"', "it's", 'multi\nline\n', 'héllo wörld', '日本語 😀', '', ' lead and trail ', '--opt=a b', '\t', '-', '--'];
    const cwd = '/tmp/dir with spaces/ünïcode\n';
    const reply = await send(h.name, 'data', { argv, cwd });
    assert.deepEqual(reply.argv, argv);
    assert.equal(reply.cwd, cwd);
  });

  test('by default argv is process.argv and cwd is process.cwd()', async () => {
    const reply = await send(h.name, 1);
    assert.deepEqual(reply.argv, process.argv);
    assert.equal(reply.cwd, process.cwd());
    assert.equal(typeof reply.from, 'object');
  });

  test('data that would not arrive as sent is refused before sending', async () => {
    const cyclic = {};
    cyclic.self = cyclic;
    for (const bad of [[undefined], { a: [undefined] }, Number.NaN, Infinity, 10n, new Date(0), cyclic, () => 1, Symbol('s'), new Map(), [, 1]]) {
      await assert.rejects(send(h.name, bad), (error) => error instanceof InvalidMessageError && error.code === 'ERR_INVALID_MESSAGE', String(typeof bad));
    }
  });

  test('a reply that is not plain JSON is a handler_error', async () => {
    await assert.rejects(send(h.name, 'date-reply'), (error) => error instanceof RemoteError && error.remoteCode === 'handler_error');
  });

  test('a payload of exactly the 1 MiB cap goes through; one byte more is refused by the sender', async () => {
    const atCap = 'é'.repeat((MiB - 2) / 2); // 2 bytes of UTF-8 each, plus the quotes: exactly 1 MiB of JSON
    assert.equal(Buffer.byteLength(JSON.stringify(atCap)), MiB);
    const reply = await send(h.name, atCap);
    assert.deepEqual(reply, { length: atCap.length, sha256: createHash('sha256').update(atCap).digest('hex') });
    await assert.rejects(send(h.name, `${atCap}x`), (error) => error instanceof MessageTooLargeError && error.code === 'ERR_MESSAGE_TOO_LARGE' && error.maxBytes === MiB && error.bytes === MiB + 1);
  });

  test('a payload over the holder cap is answered too_large by the holder (sender cap raised)', async () => {
    const over = 'x'.repeat(MiB);
    await assert.rejects(send(h.name, over, { maxMessageBytes: 4 * MiB }), (error) => error instanceof RemoteError && error.code === 'ERR_REMOTE' && error.remoteCode === 'too_large');
    // The holder is unharmed.
    assert.equal((await send(h.name, 'still here')).data, 'still here');
  });

  test('a reply over the cap is answered too_large', async () => {
    await assert.rejects(send(h.name, 'big-reply'), (error) => error instanceof RemoteError && error.remoteCode === 'too_large');
  });

  test('a raw client: oversized data gets too_large with its id; an oversized frame gets too_large and a hang-up', async () => {
    const client = rawClient(lockAddress(h.name, 'user', 'onlyone/v1/', process.getuid()), { allowHalfOpen: true });
    await client.frame((f) => f.type === 'hello');
    client.write(`${JSON.stringify({ type: 'message', id: 7, argv: [], cwd: '/', data: 'x'.repeat(MiB) })}\n`);
    const refused = await client.frame((f) => f.id === 7);
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'too_large');
    client.write(`${JSON.stringify({ type: 'ping', id: 8 })}\n`);
    assert.equal((await client.frame((f) => f.id === 8)).type, 'pong');
    // A frame far over the cap cannot even be buffered: error without id, then the connection ends.
    client.write(`${JSON.stringify({ type: 'message', id: 9, data: 'y'.repeat(3 * MiB) })}\n`);
    const fatal = await client.frame((f) => f.type === 'error' && f.id === undefined);
    assert.equal(fatal.code, 'too_large');
    await client.closed;
  });

  test('a raw client gets bad_frame for argv that is not all strings, and answers after half-closing', async () => {
    const client = rawClient(lockAddress(h.name, 'user', 'onlyone/v1/', process.getuid()), { allowHalfOpen: true });
    client.write(`${JSON.stringify({ type: 'message', id: 1, argv: ['a', 2], data: null })}\n`);
    assert.equal((await client.frame((f) => f.id === 1)).code, 'bad_frame');
    client.socket.end(`${JSON.stringify({ type: 'message', id: 2, argv: ['a'], data: 'half-closed' })}\n`);
    const reply = await client.frame((f) => f.id === 2);
    assert.equal(reply.type, 'reply');
    assert.equal(reply.data.data, 'half-closed');
    await client.closed;
  });

  test('100 concurrent senders are all answered, each with its own reply', async () => {
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => send(h.name, { i }, { argv: [`sender-${i}`] })));
    replies.forEach((reply, i) => {
      assert.deepEqual(reply.data, { i });
      assert.deepEqual(reply.argv, [`sender-${i}`]);
    });
  });

  test('LockBusyError#send forwards to the holder in one call', async () => {
    const error = await acquire(h.name).then(() => assert.fail('acquired a held lock'), (e) => e);
    assert.ok(error instanceof LockBusyError);
    const reply = await error.send({ open: ['notes.txt'] }, { argv: ['app', 'notes.txt'], cwd: '/home' });
    assert.deepEqual(reply, { argv: ['app', 'notes.txt'], cwd: '/home', data: { open: ['notes.txt'] }, from: reply.from });
  });

  test('a handler that throws gives the sender handler_error', async () => {
    await assert.rejects(send(h.name, 'throw'), (error) => error instanceof RemoteError && error.remoteCode === 'handler_error' && /failed on purpose/.test(error.message));
  });

  test('a hanging handler: the sender times out, while a second sender is answered at once', async () => {
    const hung = send(h.name, 'hang', { timeoutMs: 1500 });
    const second = await send(h.name, 'second', { timeoutMs: 15_000 });
    assert.equal(second.data, 'second');
    await assert.rejects(hung, (error) => error instanceof SendTimeoutError && error.code === 'ERR_SEND_TIMEOUT');
    assert.equal((await send(h.name, 'third')).data, 'third');
    assert.equal(h.holder.child.exitCode, null, 'the holder is still alive');
  });

  test('an aborted send rejects with the signal reason', async () => {
    const controller = new AbortController();
    const pending = send(h.name, 'hang', { signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    await assert.rejects(pending, /changed my mind/);
  });
});

describe('send to other holders', () => {
  test('a holder whose handler throws', async () => {
    const h = await holding('throw');
    try {
      await assert.rejects(send(h.name, 1), (error) => error instanceof RemoteError && error.remoteCode === 'handler_error');
    } finally { await stop(h); }
  });

  test("the holder's own handler timeout answers handler_timeout", async () => {
    const h = await holding('echo', { messageTimeoutMs: 300 });
    try {
      await assert.rejects(send(h.name, 'hang'), (error) => error instanceof RemoteError && error.remoteCode === 'handler_timeout');
      assert.equal((await send(h.name, 'after')).data, 'after');
    } finally { await stop(h); }
  });

  test("the handler's signal aborts on the holder's timeout", async () => {
    const h = await holding('echo', { messageTimeoutMs: 300 });
    try {
      await assert.rejects(send(h.name, 'hang-signal'), (error) => error instanceof RemoteError && error.remoteCode === 'handler_timeout');
      assert.match((await h.holder.events.next(15_000)).reason, /did not answer within 300 ms/);
    } finally { await stop(h); }
  });

  test('a holder without onMessage answers no_handler', async () => {
    const h = await holding('hold');
    try {
      await assert.rejects(send(h.name, 1), (error) => error instanceof RemoteError && error.remoteCode === 'no_handler');
    } finally { await stop(h); }
  });

  test('a lower cap on the holder refuses what the sender allows', async () => {
    const h = await holding('echo', { maxMessageBytes: 6000 });
    try {
      assert.equal((await send(h.name, 'x'.repeat(5998))).length, 5998);
      await assert.rejects(send(h.name, 'x'.repeat(5999)), (error) => error instanceof RemoteError && error.remoteCode === 'too_large');
    } finally { await stop(h); }
  });

  test('a holder that never speaks the protocol fails the send after helloTimeoutMs, not timeoutMs', async () => {
    const name = lockName('msg-silent');
    const server = net.createServer((socket) => socket.on('error', () => {}));
    await new Promise((resolve) => server.listen({ path: lockAddress(name, 'user', 'onlyone/v1/', process.getuid()) }, resolve));
    try {
      await assert.rejects(send(name, 1, { timeoutMs: 600_000, helloTimeoutMs: 500 }), (error) => error.code === 'ERR_PROTOCOL' && /no hello/.test(error.message));
    } finally {
      server.close();
    }
  });

  test('argv and cwd over their 64 KiB allowance are refused by the sender', async () => {
    const name = lockName('msg-argv');
    await assert.rejects(send(name, null, { argv: ['x'.repeat(64 * 1024)] }), (error) => error instanceof MessageTooLargeError && /argv and cwd/.test(error.message));
    await assert.rejects(send(name, null, { argv: [1] }), (error) => error.code === 'ERR_INVALID_OPTION' && /`argv`/.test(error.message));
  });

  test('nobody holding the lock is NotHeldError', async () => {
    const name = lockName('msg-free');
    await assert.rejects(send(name, 1), (error) => error instanceof NotHeldError && error.code === 'ERR_NOT_HELD');
    assert.equal(await status(name), undefined);
  });

  test('in-process: onMessage receives the message, sync replies work', async () => {
    const name = lockName('msg-inproc');
    const lock = await acquire(name, { onMessage: ({ argv, data }) => ({ got: data, first: argv[0] }) });
    try {
      assert.deepEqual(await send(name, [1, 2], { argv: ['z'] }), { got: [1, 2], first: 'z' });
      assert.ok(lock.held);
    } finally { await lock.release(); }
  });
});

test('the sending side of messages never loads koffi: acquire with onMessage, then send from another process', async () => {
  // The holder does load koffi on its first request: it checks the sender's uid with SO_PEERCRED
  // (identity.test.mjs). A busy acquire in user scope loads it too, to tell a squatter from a holder.
  const { child, events, exited } = startHolder(lockName('msg-koffi'), { mode: 'echo' });
  const { event } = await events.next(20_000);
  assert.equal(event, 'acquired');
  const name = child.spawnargs[2];
  try {
    const script = `
      import { send } from ${JSON.stringify(distEntry)};
      import { readFileSync } from 'node:fs';
      const reply = await send(${JSON.stringify(name)}, 42);
      if (reply.data !== 42) throw new Error('bad reply ' + JSON.stringify(reply));
      process.stdout.write(String(/koffi/.test(readFileSync('/proc/self/maps', 'latin1'))));
    `;
    const { execFile } = await import('node:child_process');
    const out = await new Promise((resolve, reject) => execFile(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
    assert.equal(out, 'false');
  } finally {
    child.stdin.end();
    await exited;
  }
});
