// Conflict messages say what is known: backlog full; did not identify itself (pid from the kernel) (issue 12, item 8).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockAddress } from '../dist/index.js';
import { cli } from './cli-helpers.mjs';
import { fixture, lockName } from './helpers.mjs';

async function silentHolder(name, backlog) {
  const address = Buffer.from(lockAddress(name, 'user', 'onlyone/v1/', process.getuid()), 'utf8').toString('hex');
  const child = spawn('python3', [fixture('silent-holder.py'), address, String(backlog)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  return { pid: child.pid, address: lockAddress(name, 'user', 'onlyone/v1/', process.getuid()), stop: async () => { child.stdin.end(); await once(child, 'exit'); } };
}

test('a listener that never speaks the protocol is named by the kernel and said not to have identified itself', async () => {
  const name = lockName('silent');
  const holder = await silentHolder(name, 16);
  try {
    const run = await cli(['run', name, '--', 'true']);
    assert.equal(run.code, 75);
    assert.match(run.stderr, new RegExp(`pid ${holder.pid}.*did not identify itself.*pid from the kernel`, 'u'));
    assert.doesNotMatch(run.stderr, /inherited/u);
    const json = JSON.parse((await cli(['status', name, '--json'])).stdout);
    assert.equal(json.pid, holder.pid);
    assert.equal(json.protocol, 0);
    assert.match(json.silentReason, /did not identify itself/u);
  } finally {
    await holder.stop();
  }
});

test('a holder whose backlog is full is reported as such, not as a command that inherited the lock', async () => {
  const name = lockName('backlog');
  const holder = await silentHolder(name, 0);
  const clients = [];
  try {
    // Fill the backlog: connect until the kernel says EAGAIN.
    for (let i = 0; i < 64; i++) {
      const refused = await new Promise((resolve) => {
        const socket = net.connect({ path: holder.address });
        socket.once('connect', () => { clients.push(socket); resolve(false); });
        socket.once('error', (error) => resolve(error.code === 'EAGAIN'));
      });
      if (refused) break;
    }
    const run = await cli(['run', name, '--', 'true']);
    assert.equal(run.code, 75);
    assert.match(run.stderr, /backlog full/u);
    assert.doesNotMatch(run.stderr, /inherited/u);
    const json = JSON.parse((await cli(['status', name, '--json'])).stdout);
    assert.match(json.silentReason, /backlog full/u);
    assert.equal(json.protocol, 0);
  } finally {
    for (const socket of clients) socket.destroy();
    await holder.stop();
  }
});
