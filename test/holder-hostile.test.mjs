// Regressions found by test/fuzz: a holder must answer a message whose echo cannot be encoded, and must cut a
// peer that drips a frame one byte at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jsonLines, lockName, rawClient } from './helpers.mjs';

/** The fuzz target (test/fuzz/holder.mjs): holds the lock and echoes messages. */
function startEchoHolder(name) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fuzz/holder.mjs', import.meta.url)), name], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { child, events: jsonLines(child.stdout) };
}


test('a 100k-deep message, whose echo JSON cannot encode, gets an error frame, not silence', async (t) => {
  const holder = startEchoHolder(lockName('deep'));
  t.after(() => holder.child.kill('SIGKILL'));
  const { address } = await holder.events.next();
  const client = rawClient(address);
  t.after(() => client.socket.destroy());
  assert.equal((await client.frame(0)).type, 'hello');
  client.socket.write(`{"type":"message","id":7,"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`);
  const answer = await client.frame(1);
  assert.equal(answer.type, 'error');
  // Refused on the way in (bad_frame) or when the echo is encoded (handler_error): either way, answered.
  assert.ok(['bad_frame', 'handler_error'].includes(answer.code), answer.code);
  assert.equal(answer.id, 7);
});

test('a frame dripped one byte at a time is cut by the frame timeout', async (t) => {
  const holder = startEchoHolder(lockName('drip'));
  t.after(() => holder.child.kill('SIGKILL'));
  const { address } = await holder.events.next();
  const client = rawClient(address);
  const drip = setInterval(() => client.socket.write('{'), 200);
  t.after(() => { clearInterval(drip); client.socket.destroy(); });
  assert.equal((await client.frame(0)).type, 'hello');
  const cut = await Promise.race([client.closed.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20_000).unref())]);
  assert.equal(cut, true, 'the dripping connection is still open after 20 s (frame timeout is 5 s)');
});
