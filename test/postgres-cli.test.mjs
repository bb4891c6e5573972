// `onlyone run --backend postgres://…` against a private PostgreSQL cluster: ONLYONE_FENCE, and the command is
// killed when the lock is lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { alive, delay, exitOf, jsonLines, lockName, running } from './helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const unavailable = postgresUnavailable();
const LOST = 79;
/** --idle-session-timeout of the stop tests: short, so a stopped holder loses its lock quickly (the guard's slack is 3/40 of it). */
const IDLE_MS = 2000;
let server;

// The command: reports its pid and fence, then a `work` event every 20 ms, each stamped with Date.now().
const WORKER = `
const emit = (e) => process.stdout.write(JSON.stringify({ ...e, at: Date.now() }) + '\\n');
emit({ event: 'started', pid: process.pid, fence: process.env.ONLYONE_FENCE });
process.on('SIGTERM', () => { emit({ event: 'sigterm' }); process.exit(143); });
// WORK_LOG: each unit of work is also appended synchronously, so a test can read all of it once the command is dead.
const log = process.env.WORK_LOG ? require('node:fs').openSync(process.env.WORK_LOG, 'a') : undefined;
setInterval(() => {
  if (log !== undefined) require('node:fs').writeSync(log, String(process.hrtime.bigint()) + '\\n');
  emit({ event: 'work' });
}, 20);
`;

function run(t, name, args, command, { detached = false } = {}) {
  const workLog = join(mkdtempSync(join(tmpdir(), 'onlyone-work-')), 'log');
  t.after(() => rmSync(dirname(workLog), { recursive: true, force: true }));
  const child = spawn(process.execPath, [cli, 'run', '--backend', server.url, ...args, name, '--', ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WORK_LOG: workLog },
    detached,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  t.after(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(detached ? -child.pid : child.pid, 'SIGCONT'); process.kill(detached ? -child.pid : child.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  /** CLOCK_MONOTONIC stamps of every unit of work the command did (complete once the command is dead). */
  const work = () => {
    try { return readFileSync(workLog, 'utf8').split('\n').filter(Boolean).map(BigInt); } catch { return []; }
  };
  return { child, events: jsonLines(child.stdout), work, stderr: () => stderr };
}

/** A library waiter on `name`: prints `acquired` with a CLOCK_MONOTONIC stamp as soon as it holds the lock. */
function startWaiter(name) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { acquire } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const lock = await acquire(${JSON.stringify(name)}, { backend: 'postgres', url: ${JSON.stringify(server.url)}, wait: true });
    console.log(JSON.stringify({ event: 'acquired', mono: String(process.hrtime.bigint()) }));
    await lock.release();`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, events: jsonLines(child.stdout) };
}

/** The lease guard onlyone `pid` started: its child running lease-guard.cjs. */
function guardOf(pid) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/u.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes('lease-guard.cjs')) return Number(entry);
    } catch { /* gone */ }
  }
  return undefined;
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

  test('a server restart while the command runs: the command is killed at once and run exits with the lost status', async (t) => {
    const name = lockName('clirestart');
    const r = run(t, name, ['--grace', '1'], [process.execPath, '-e', WORKER]);
    const { pid } = await nextOf(r.events, 'started');
    server.restart('fast');
    // No polite SIGTERM: the lock may already be held elsewhere, so the tree is killed at once.
    assert.equal((await exitOf(r.child)).code, LOST);
    assert.match(r.stderr(), /was lost.*; killing the command's process tree/u);
    assert.equal(alive(pid), false);
  });

  // The command's `work` events and the waiter's `acquired` event carry CLOCK_MONOTONIC stamps, comparable across
  // processes: "never ran unlocked" means no work is stamped after the waiter got the lock.
  for (const target of ['onlyone alone', 'onlyone and its command (job-control stop)']) {
    test(`SIGSTOP of ${target}: the command is killed before the lock passes to a waiter; on SIGCONT run exits ${LOST}`, async (t) => {
      const name = lockName('clistop');
      const group = target !== 'onlyone alone';
      const r = run(t, name, ['--grace', '1', '--idle-session-timeout', String(IDLE_MS / 1000)], [process.execPath, '-e', WORKER], { detached: true });
      const { pid } = await nextOf(r.events, 'started');
      await nextOf(r.events, 'work');
      const waiter = startWaiter(name);
      const stoppedAt = process.hrtime.bigint();
      process.kill(group ? -r.child.pid : r.child.pid, 'SIGSTOP');
      const got = await nextOf(waiter.events, 'acquired');
      const waitedMs = Number(BigInt(got.mono) - stoppedAt) / 1e6;
      assert.ok(waitedMs < IDLE_MS + 3000, `waiter took ${waitedMs} ms`);
      // Still stopped: the guard, in its own session, has already killed the command.
      assert.equal(running(pid), false, 'the command still runs after the lock passed on');
      const lastWork = r.work().at(-1) ?? 0n;
      assert.ok(lastWork > 0n && lastWork < BigInt(got.mono), `work at ${lastWork} after the waiter acquired at ${got.mono}`);
      process.kill(group ? -r.child.pid : r.child.pid, 'SIGCONT');
      assert.equal((await exitOf(r.child)).code, LOST);
      assert.equal(r.work().at(-1), lastWork, 'work after SIGCONT');
      assert.match(r.stderr(), /lease on .* ran out while onlyone \(pid \d+\) was stopped/u);
      t.diagnostic(`lock passed on ${waitedMs.toFixed(0)} ms after SIGSTOP; last work ${(Number(BigInt(got.mono) - lastWork) / 1e6).toFixed(1)} ms before that`);
      await exitOf(waiter.child);
    });
  }

  test('a server restart while onlyone is stopped: the command is killed before any waiter can take the lock', async (t) => {
    const name = lockName('clistoprestart');
    // A lease far longer than the restart: only the guard's watch on the connection can explain a kill in time.
    const r = run(t, name, ['--idle-session-timeout', '20'], [process.execPath, '-e', WORKER]);
    const { pid } = await nextOf(r.events, 'started');
    await nextOf(r.events, 'work');
    process.kill(r.child.pid, 'SIGSTOP');
    const restartedAt = process.hrtime.bigint();
    server.restart('fast');
    const waiter = startWaiter(name);
    const got = await nextOf(waiter.events, 'acquired');
    assert.equal(running(pid), false, 'the command still runs after the server restarted');
    const lastWork = r.work().at(-1) ?? 0n;
    assert.ok(lastWork > 0n && lastWork < BigInt(got.mono), 'the command worked after the waiter acquired');
    process.kill(r.child.pid, 'SIGCONT');
    assert.equal((await exitOf(r.child)).code, LOST);
    assert.match(r.stderr(), /server closed the connection holding .* while onlyone \(pid \d+\) was stopped/u);
    t.diagnostic(`command killed; its last work ${(Number(lastWork - restartedAt) / 1e6).toFixed(0)} ms after the restart began, the waiter acquired at ${(Number(BigInt(got.mono) - restartedAt) / 1e6).toFixed(0)} ms`);
    await exitOf(waiter.child);
  });

  test('SIGKILL of onlyone: its command is killed before the server frees the lock', async (t) => {
    const name = lockName('clikill');
    const r = run(t, name, ['--idle-session-timeout', String(IDLE_MS / 1000)], [process.execPath, '-e', WORKER]);
    const { pid } = await nextOf(r.events, 'started');
    await nextOf(r.events, 'work');
    const waiter = startWaiter(name);
    const killedAt = process.hrtime.bigint();
    r.child.kill('SIGKILL');
    const got = await nextOf(waiter.events, 'acquired');
    const waitedMs = Number(BigInt(got.mono) - killedAt) / 1e6;
    // Well before the idle timeout: the guard lets the connection go as soon as the command is dead.
    assert.ok(waitedMs < IDLE_MS, `waiter took ${waitedMs} ms`);
    assert.equal(running(pid), false);
    const lastWork = r.work().at(-1) ?? 0n;
    assert.ok(lastWork > 0n && lastWork < BigInt(got.mono), 'the command worked after the waiter acquired');
    t.diagnostic(`lock passed on ${waitedMs.toFixed(1)} ms after SIGKILL of onlyone`);
    await exitOf(waiter.child);
  });

  test('a lease guard killed between two runs of a loop: the next run is not started', async (t) => {
    const name = lockName('cliguardloop');
    // Each run appends one stamp to WORK_LOG and exits at once; --keep-running restarts it after 1 s.
    const r = run(t, name, ['--keep-running'], ['/bin/sh', '-c', 'echo 1 >> "$WORK_LOG"']);
    while (r.work().length === 0) await delay(20);
    const guard = guardOf(r.child.pid);
    assert.ok(guard !== undefined, 'no lease guard runs');
    process.kill(guard, 'SIGKILL');
    assert.equal((await exitOf(r.child)).code, LOST);
    assert.match(r.stderr(), /lease guard \(pid \d+\) ended .*; not starting the command/u);
    assert.equal(r.work().length, 1, 'a run started after the guard died');
  });

  test('a killed lease guard: the command is stopped, the lock released, and run exits with the lost status', async (t) => {
    const name = lockName('cliguard');
    const r = run(t, name, ['--grace', '1'], [process.execPath, '-e', WORKER]);
    const { pid } = await nextOf(r.events, 'started');
    const guard = guardOf(r.child.pid);
    assert.ok(guard !== undefined, 'no lease guard runs');
    process.kill(guard, 'SIGKILL');
    // Not waiting for the command's `sigterm` event: on a loaded machine it may not answer within --grace 1 and
    // be SIGKILLed, which is right too. What matters: it is stopped, and run says why and exits 79.
    assert.equal((await exitOf(r.child)).code, LOST);
    assert.match(r.stderr(), /lease guard \(pid \d+\) ended .*; stopping the command \(SIGTERM, then SIGKILL after 1s\)/u);
    assert.equal(alive(pid), false);
  });

});
