// The lease guard (dist/guard/lease-guard.cjs) on its own: real processes stand in for onlyone and its command, and a
// real TCP connection for the lock's. No database needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { delay, exitOf, running } from './helpers.mjs';

const guardScript = fileURLToPath(new URL('../dist/guard/lease-guard.cjs', import.meta.url));
const ns = (msFromNow) => String(process.hrtime.bigint() + BigInt(Math.round(msFromNow * 1e6)));

/** A process that only sleeps (no children: the guard kills the owner's children too), killed when the test ends. */
function sleeper(t) {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => {
    try { process.kill(child.pid, 'SIGCONT'); child.kill('SIGKILL'); } catch { /* gone */ }
  });
  return child;
}

/** A TCP connection whose far end `close()` shuts, standing in for the PostgreSQL session. */
async function connection(t) {
  let far;
  const server = net.createServer((socket) => (far = socket)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const near = net.connect(server.address().port, '127.0.0.1');
  await once(near, 'connect');
  while (far === undefined) await delay(1);
  // Our end must not read: the guard's copy is the one that watches.
  near.pause();
  t.after(() => { near.destroy(); far.destroy(); server.close(); });
  return { near, close: () => far.end() };
}

function startGuard(t, owner, socket) {
  const stdio = ['pipe', 'ignore', 'pipe', ...(socket === undefined ? [] : [socket])];
  const guard = spawn(process.execPath, [guardScript, String(owner), 'guard-test'], { stdio });
  let stderr = '';
  guard.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  t.after(() => guard.kill('SIGKILL'));
  return { guard, say: (line) => guard.stdin.write(`${line}\n`), stderr: () => stderr };
}

async function until(condition, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await delay(5);
  }
}

test('the lease deadline passes: the command is killed, the owner is not', async (t) => {
  const owner = sleeper(t);
  const command = sleeper(t);
  const { say, stderr } = startGuard(t, owner.pid);
  // The command first: a guard that starts slowly still knows it when the short lease has already run out.
  say(`child ${command.pid}`);
  say(`lease ${ns(300)}`);
  // The guard reports once what it killed is gone, so its message comes last.
  await until(() => /killed pid/u.test(stderr()), 'the guard reports the kill');
  assert.equal(running(command.pid), false);
  assert.equal(running(owner.pid), true);
  assert.match(stderr(), /lease on guard-test ran out while onlyone \(pid \d+\) was stopped or not responding; killed pid/u);
});

test('the command\'s children and the owner\'s other children are killed too', async (t) => {
  const command = spawn('/bin/sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => command.kill('SIGKILL'));
  const [line] = await once(command.stdout.setEncoding('utf8'), 'data');
  const grandchild = Number(line.trim());
  assert.equal(running(grandchild), true);
  // The owner's own child (an --on-message handler, say), found through /proc rather than told.
  const owner = spawn('/bin/sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => owner.kill('SIGKILL'));
  const [handlerLine] = await once(owner.stdout.setEncoding('utf8'), 'data');
  const handler = Number(handlerLine.trim());
  const { say } = startGuard(t, owner.pid);
  say(`child ${command.pid}`);
  say(`lease ${ns(100)}`);
  await until(() => !running(grandchild) && !running(command.pid) && !running(handler), 'the whole tree is killed');
});

test('the server closes the connection before the guard has read its first lease, with the owner stopped: killed at once', async (t) => {
  const owner = sleeper(t);
  const command = sleeper(t);
  const { near, close } = await connection(t);
  process.kill(owner.pid, 'SIGSTOP');
  const { say } = startGuard(t, owner.pid, near);
  close();
  // Give the guard's poll time to see the close before any line arrives.
  await delay(300);
  say(`lease ${ns(60_000)}`);
  say(`child ${command.pid}`);
  await until(() => !running(command.pid), 'the command is killed', 3000);
});

test('the server closes the connection while the owner runs: the owner gets a moment to say lost, then the guard kills', async (t) => {
  const owner = sleeper(t);
  const command = sleeper(t);
  const { near, close } = await connection(t);
  const { say } = startGuard(t, owner.pid, near);
  say(`lease ${ns(60_000)}`);
  say(`child ${command.pid}`);
  await delay(200);
  const closedAt = Date.now();
  close();
  await until(() => !running(command.pid), 'the command is killed', 3000);
  const after = Date.now() - closedAt;
  assert.ok(after >= 400, `killed ${after} ms after the close, before onlyone could react`);
});

test('end of input without done (onlyone died): the command is killed and the guard exits', async (t) => {
  const owner = sleeper(t);
  const command = sleeper(t);
  const { guard, say } = startGuard(t, owner.pid);
  say(`lease ${ns(60_000)}`);
  say(`child ${command.pid}`);
  guard.stdin.end();
  assert.deepEqual(await exitOf(guard), { code: 0, signal: null });
  assert.equal(running(command.pid), false);
});

test('done, then end of input: nothing is killed', async (t) => {
  const owner = sleeper(t);
  const command = sleeper(t);
  const { guard, say, stderr } = startGuard(t, owner.pid);
  // A deadline that cannot pass before `done` is read, however slowly the guard starts.
  say(`lease ${ns(60_000)}`);
  say(`child ${command.pid}`);
  say(`exited ${command.pid}`);
  say('done');
  guard.stdin.end();
  assert.deepEqual(await exitOf(guard), { code: 0, signal: null });
  await delay(200);
  assert.equal(running(command.pid), true);
  assert.equal(stderr(), '');
});
