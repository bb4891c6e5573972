// Conformance suite for a holder of protocol v1 (docs/protocol.md), for any implementation:
//
//   node test/conformance/holder.mjs NAME -- COMMAND [ARG...]
//
// COMMAND must take the lock NAME (user scope, default prefix, abstract namespace) and answer messages with a
// `reply` (any data). The suite starts it, waits until NAME is bound, checks the holder's side of the protocol
// over raw sockets, and stops COMMAND. It uses only Node's built-in modules (no onlyone code), so it tests the
// wire, not a library. The output is node:test's; the exit status is non-zero if any check fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';

const [name, dash, ...command] = process.argv.slice(2);
if (name === undefined || dash !== '--' || command.length === 0) {
  process.stderr.write('usage: node test/conformance/holder.mjs NAME -- COMMAND [ARG...]\n');
  process.exit(64);
}

/** §1: NUL + prefix + scope + "/" + name, NUL-padded to 108 bytes; at most 107 bytes before the padding. */
const body = Buffer.from(`onlyone/v1/u${process.getuid()}/${name}`, 'utf8');
if (body.length > 107) throw new Error(`NAME is too long: the address body is ${body.length} bytes, at most 107`);
// Node encodes a string path as UTF-8: the name's own text, then NULs to pad the body to 107 bytes.
const path = `\0onlyone/v1/u${process.getuid()}/${name}${'\0'.repeat(107 - body.length)}`;

const MAX_FRAME = 1024 * 1024 + 64 * 1024;

/** A raw connection: every frame it received, `next()` for the next one, `closed` once the holder hangs up. */
function connect({ allowHalfOpen = false } = {}) {
  const socket = net.connect({ path, allowHalfOpen });
  socket.on('error', () => {});
  const frames = [];
  let wake = () => {};
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      frames.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
    wake();
  });
  let isClosed = false;
  const closed = new Promise((resolve) => socket.once(allowHalfOpen ? 'end' : 'close', () => { isClosed = true; wake(); resolve(); }));
  let read = 0;
  /** The next frame; fails after `timeoutMs` or if the connection closes first. */
  const next = async (timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (read >= frames.length) {
      if (isClosed) throw new Error(`the holder closed the connection; frames so far: ${JSON.stringify(frames).slice(0, 300)}`);
      if (Date.now() > deadline) throw new Error(`no frame within ${timeoutMs} ms; frames so far: ${JSON.stringify(frames).slice(0, 300)}`);
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 100); });
    }
    return frames[read++];
  };
  const isClosedWithin = async (timeoutMs = 10_000) => {
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
    return isClosed;
  };
  return { socket, next, closed, isClosedWithin, write: (text) => socket.write(text) };
}

/** A connection past its hello. */
async function session(options) {
  const connection = connect(options);
  const hello = await connection.next();
  assert.equal(hello.type, 'hello', 'the first frame is the hello');
  return connection;
}

const holder = spawn(command[0], command.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
const exited = new Promise((resolve) => holder.once('exit', resolve));
test.after(async () => {
  holder.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  holder.kill('SIGKILL');
});

test('COMMAND binds NAME', async () => {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const probe = net.connect({ path });
      probe.once('connect', () => { probe.destroy(); resolve(true); });
      probe.once('error', () => resolve(false));
    });
    if (ok) return;
    assert.ok(Date.now() < deadline, 'NAME was not bound within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test('§3 hello: first, unrequested, on every connection, with the fields of version 1', async () => {
  for (let i = 0; i < 2; i++) {
    const connection = connect();
    const hello = await connection.next();
    assert.equal(hello.type, 'hello');
    assert.equal(hello.v, 1);
    assert.equal(hello.name, name);
    assert.equal(hello.scope, 'user');
    assert.ok(Number.isSafeInteger(hello.pid) && hello.pid > 0, `pid ${hello.pid}`);
    assert.equal(hello.uid, process.getuid());
    assert.ok(Array.isArray(hello.argv) && hello.argv.every((arg) => typeof arg === 'string'), 'argv is an array of strings');
    assert.equal(typeof hello.cwd, 'string');
    assert.equal(typeof hello.hostname, 'string');
    assert.ok(Number.isSafeInteger(hello.acquiredAt), 'acquiredAt is milliseconds since the epoch');
    assert.ok(['abstract', 'lockfile'].includes(hello.backend), `backend ${hello.backend}`);
    if (hello.argvTruncated !== undefined) assert.equal(hello.argvTruncated, true);
    assert.ok(JSON.stringify(hello).length <= 64 * 1024, 'the hello fits a 64 KiB control frame');
    connection.socket.destroy();
  }
});

test('§2/§4 ids: echoed, optional, integers or strings of at most 64 UTF-16 code units', async () => {
  const connection = await session();
  const id64 = '\u{1F512}'.repeat(32); // 32 code points, 64 UTF-16 code units, 128 bytes of UTF-8
  connection.write(`${JSON.stringify({ type: 'ping', id: 7 })}\n${JSON.stringify({ type: 'ping' })}\n${JSON.stringify({ type: 'ping', id: id64 })}\n`);
  assert.deepEqual(await connection.next(), { type: 'pong', id: 7 });
  assert.deepEqual(await connection.next(), { type: 'pong' }, 'no id in, no id out');
  assert.deepEqual(await connection.next(), { type: 'pong', id: id64 });
  connection.write(`${JSON.stringify({ type: 'ping', id: `${id64}x` })}\n`);
  const refused = await connection.next();
  assert.deepEqual([refused.type, refused.code, refused.id], ['error', 'bad_frame', undefined], '65 code units is a bad frame, answered without an id');
  assert.ok(await connection.isClosedWithin(), 'then the holder closes');
});

test('§2 unknown types: unknown_type with the id, or without one for a request without one; the connection stays open', async () => {
  const connection = await session();
  connection.write('{"type":"frobnicate","id":1,"extra":{"ignored":true}}\n{"type":"frobnicate"}\n{"type":"ping","id":2}\n');
  const first = await connection.next();
  assert.deepEqual([first.type, first.code, first.id], ['error', 'unknown_type', 1]);
  const second = await connection.next();
  assert.deepEqual([second.type, second.code, second.id], ['error', 'unknown_type', undefined]);
  assert.deepEqual(await connection.next(), { type: 'pong', id: 2 }, 'still open');
  connection.socket.destroy();
});

test('§4 pipelining: many requests in one write, every answer matched by its id', async () => {
  const connection = await session();
  connection.write([1, 2, 3, 4, 5].map((id) => JSON.stringify({ type: id % 2 ? 'ping' : 'message', id, data: id })).join('\n') + '\n');
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await connection.next());
  assert.deepEqual(answers.map((a) => a.id).sort(), [1, 2, 3, 4, 5]);
  for (const answer of answers) assert.equal(answer.type, answer.id % 2 ? 'pong' : 'reply', JSON.stringify(answer));
  connection.socket.destroy();
});

test('§2 invalid frames: bad_frame without an id, then the holder closes', async () => {
  for (const bad of ['not json', '[1,2]', '{"id":1}', '{"type":"ping","id":1.5}', '{"type":"ping","id":{}}']) {
    const connection = await session();
    connection.write(`${bad}\n`);
    const answer = await connection.next();
    assert.deepEqual([answer.type, answer.code, answer.id], ['error', 'bad_frame', undefined], bad);
    assert.ok(await connection.isClosedWithin(), `closed after ${bad}`);
  }
});

test('§2 frame cap: a frame over 1 MiB + 64 KiB gets too_large without an id, before its newline, then closes', async () => {
  const connection = await session();
  connection.write(`{"type":"message","id":1,"data":"${'x'.repeat(MAX_FRAME)}`);
  const answer = await connection.next(30_000);
  assert.deepEqual([answer.type, answer.code, answer.id], ['error', 'too_large', undefined]);
  assert.ok(await connection.isClosedWithin(), 'closed');
});

test('§2 message cap: data over 1 MiB gets too_large with the id; the connection stays open', async () => {
  const connection = await session();
  connection.write(`${JSON.stringify({ type: 'message', id: 1, data: 'x'.repeat(1024 * 1024) })}\n{"type":"ping","id":2}\n`);
  const answers = [await connection.next(30_000), await connection.next()].sort((a, b) => a.id - b.id);
  assert.deepEqual([answers[0].type, answers[0].code, answers[0].id], ['error', 'too_large', 1]);
  assert.deepEqual(answers[1], { type: 'pong', id: 2 });
  connection.socket.destroy();
});

test('§3 bad_frame with an id: a message whose argv, cwd or data the holder cannot take; the connection stays open', async () => {
  const connection = await session();
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  connection.write(`{"type":"message","id":1,"argv":"not an array"}\n{"type":"message","id":2,"cwd":5}\n{"type":"message","id":3,"data":${deep}}\n{"type":"message","id":4,"data":${'['.repeat(512)}${']'.repeat(512)}}\n{"type":"ping","id":5}\n`);
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await connection.next());
  const byId = new Map(answers.map((answer) => [answer.id, answer]));
  assert.deepEqual([byId.get(1)?.type, byId.get(1)?.code], ['error', 'bad_frame'], 'argv not an array of strings');
  assert.deepEqual([byId.get(2)?.type, byId.get(2)?.code], ['error', 'bad_frame'], 'cwd not a string');
  assert.ok(byId.get(3)?.type === 'reply' || (byId.get(3)?.type === 'error' && byId.get(3)?.code === 'bad_frame'), `data nested 100000 deep: a reply, or bad_frame with its id: ${JSON.stringify(byId.get(3)).slice(0, 200)}`);
  // Accepted: it reaches the handler (whose reply, one level deeper if it wraps the data, may still be refused).
  assert.ok(byId.get(4) !== undefined && byId.get(4).code !== 'bad_frame', `data nested 512 deep (as deep as onlyone sends) is not a bad frame: ${JSON.stringify(byId.get(4)).slice(0, 200)}`);
  assert.deepEqual(byId.get(5), { type: 'pong', id: 5 });
  connection.socket.destroy();
});

test('§4 half-close: a peer that shuts down its writing side after its requests still gets every answer', async () => {
  const connection = await session({ allowHalfOpen: true });
  connection.write('{"type":"ping","id":1}\n{"type":"message","id":2,"data":null}\n');
  connection.socket.end();
  const answers = [await connection.next(), await connection.next()].sort((a, b) => a.id - b.id);
  assert.deepEqual(answers[0], { type: 'pong', id: 1 });
  assert.equal(answers[1].type, 'reply');
  assert.ok(await connection.isClosedWithin(), 'then the holder closes');
});

test('§5 waiting: an idle connection stays open (no timeout without a partial frame)', async () => {
  const connection = await session();
  assert.equal(await connection.isClosedWithin(1500), false);
  connection.socket.destroy();
});
