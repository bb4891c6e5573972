// `onlyone run --backend postgres://…` against a private PostgreSQL cluster: ONLYONE_FENCE, and the command is
// killed when the lock is lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { alive, exitOf, jsonLines, lockName } from './helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const unavailable = postgresUnavailable();
const LOST = 79;
let server;

// The command: reports its pid and fence, then a `work` event every 20 ms, each stamped with Date.now().
const WORKER = `
const emit = (e) => process.stdout.write(JSON.stringify({ ...e, at: Date.now() }) + '\\n');
emit({ event: 'started', pid: process.pid, fence: process.env.ONLYONE_FENCE });
process.on('SIGTERM', () => { emit({ event: 'sigterm' }); process.exit(143); });
setInterval(() => emit({ event: 'work' }), 20);
`;

function run(t, name, args, command, { detached = false } = {}) {
  const child = spawn(process.execPath, [cli, 'run', '--backend', server.url, ...args, name, '--', ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  t.after(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(detached ? -child.pid : child.pid, 'SIGCONT'); process.kill(detached ? -child.pid : child.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  return { child, events: jsonLines(child.stdout), stderr: () => stderr };
}

async function nextOf(events, kind) {
  for (;;) {
    const event = await events.next(20_000);
    if (event.event === kind) return event;
  }
}


describe('onlyone run on postgres', { skip: unavailable, timeout: 120_000 }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  test('the command gets ONLYONE_FENCE, larger on every run; a second run is refused naming the holder', async (t) => {
    const name = lockName('clifence');
    const first = run(t, name, [], [process.execPath, '-e', WORKER]);
    const started = await nextOf(first.events, 'started');
    assert.match(started.fence, /^\d+$/u);
    const second = run(t, name, [], [process.execPath, '-e', WORKER]);
    assert.equal((await exitOf(second.child)).code, 75);
    // The holder is the command line onlyone runs (pid of the wrapper), on this host.
    assert.match(second.stderr(), new RegExp(`pid ${first.child.pid} on ${hostname()}`, 'u'));
    first.child.kill('SIGTERM');
    await exitOf(first.child);
    const third = run(t, name, [], [process.execPath, '-e', WORKER]);
    const again = await nextOf(third.events, 'started');
    assert.ok(BigInt(again.fence) > BigInt(started.fence));
    third.child.kill('SIGTERM');
    await exitOf(third.child);
  });

  test('a server restart while the command runs: the command is killed and run exits with the lost status', async (t) => {
    const name = lockName('clirestart');
    const r = run(t, name, ['--grace', '1'], [process.execPath, '-e', WORKER]);
    const { pid } = await nextOf(r.events, 'started');
    server.restart('fast');
    await nextOf(r.events, 'sigterm');
    assert.equal((await exitOf(r.child)).code, LOST);
    assert.match(r.stderr(), /was lost/u);
    assert.equal(alive(pid), false);
  });

  test('SIGSTOP of onlyone and its command: the lock passes to a waiter, and on SIGCONT the command is killed', async (t) => {
    const name = lockName('clistop');
    const r = run(t, name, ['--grace', '1'], [process.execPath, '-e', WORKER], { detached: true });
    await nextOf(r.events, 'started');
    await nextOf(r.events, 'work');
    const waiter = spawn(process.execPath, ['--input-type=module', '-e', `
      import { acquire } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const lock = await acquire(${JSON.stringify(name)}, { backend: 'postgres', url: ${JSON.stringify(server.url)}, wait: true });
      console.log(JSON.stringify({ event: 'acquired', at: Date.now() }));
      await lock.release();`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const stoppedAt = Date.now();
    process.kill(-r.child.pid, 'SIGSTOP');
    const got = await nextOf(jsonLines(waiter.stdout), 'acquired');
    assert.ok(got.at - stoppedAt < 10_000 + 3000, `waiter took ${got.at - stoppedAt} ms`);
    const resumedAt = Date.now();
    process.kill(-r.child.pid, 'SIGCONT');
    const late = [];
    for (;;) {
      const event = await r.events.next(20_000);
      if (event.event === 'sigterm') break;
      late.push(event);
    }
    const killedWithin = Date.now() - resumedAt;
    assert.equal((await exitOf(r.child)).code, LOST);
    // Both processes resume together, so the command may run briefly before onlyone stops it (see docs/postgres.md).
    assert.ok(killedWithin < 5000, `SIGTERM ${killedWithin} ms after SIGCONT`);
    t.diagnostic(`after SIGCONT the command did ${late.length} unit(s) of work before SIGTERM (${Date.now() - resumedAt} ms)`);
  });
});
