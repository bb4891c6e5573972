// docs/protocol.md §3: a hello whose `v` is not 1 comes from a holder we cannot talk to. The lock is held, by
// a holder we cannot identify, and no request is sent to it in a language it may not speak.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { lockAddress, send, status } from '../dist/index.js';
import { lockName } from './helpers.mjs';

/** A raw holder on NAME's address that sends `hello` and answers nothing. */
async function holderSaying(name, hello) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.write(`${JSON.stringify(hello)}\n`);
  });
  await new Promise((resolve) => server.listen({ path: lockAddress(name, 'user', 'onlyone/v1/', process.getuid()), exclusive: true }, resolve));
  return () => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
}

for (const [what, v] of [['version 2', 2], ['no version', undefined]]) {
  test(`a hello with ${what}: send() fails with ERR_PROTOCOL at once, status() says held but not who`, async () => {
    const name = lockName('hello-v');
    const close = await holderSaying(name, { type: 'hello', ...(v === undefined ? {} : { v }), name, scope: 'user', pid: 1, uid: process.getuid(), argv: ['pretender'], cwd: '/', hostname: 'x', acquiredAt: 0, backend: 'abstract' });
    try {
      await assert.rejects(send(name, 'hi', { timeoutMs: 20_000 }), (error) => {
        assert.equal(error.code, 'ERR_PROTOCOL', `${error}`);
        assert.match(error.message, /protocol version/u);
        return true;
      });
      const seen = await status(name);
      assert.ok(seen !== undefined, 'held');
      assert.notDeepEqual(seen.argv, ['pretender'], 'nothing of that hello is believed');
      assert.notEqual(seen.pid, 1);
    } finally {
      await close();
    }
  });
}
