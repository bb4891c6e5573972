// Acquire, release, busy (tryAcquire on a held lock), handoff and takeover-after-SIGKILL on the postgres backend (private local cluster) against the
// abstract backend, in one run. Prints medians and p99 in ms, as a Markdown table and as JSON.
//   npm run bench:postgres            (ITERATIONS=300 TAKEOVERS=30 by default)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { acquire, tryAcquire } from '../dist/index.js';
import { jsonLines } from '../test/helpers.mjs';
import { findPostgresBin, startPostgres } from '../test/postgres-server.mjs';

const ITERATIONS = Number(process.env.ITERATIONS ?? 300);
const HANDOFFS = Number(process.env.HANDOFFS ?? 100);
const TAKEOVERS = Number(process.env.TAKEOVERS ?? 30);
const CLI_ROUNDS = Number(process.env.CLI_ROUNDS ?? 30);
const child = fileURLToPath(new URL('./lock-child.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const guard = fileURLToPath(new URL('../dist/guard/lease-guard.cjs', import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function stats(samples) {
  const sorted = samples.toSorted((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, median: at(0.5), p99: at(0.99) };
}

function spawnChild(name, options, mode) {
  const proc = spawn(process.execPath, [child, name, JSON.stringify(options), mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { proc, events: jsonLines(proc.stdout) };
}

async function run(label, options) {
  const name = `bench-${label}-${process.pid}`;
  const acquireMs = [];
  const releaseMs = [];
  for (let i = 0; i < ITERATIONS; i++) {
    let t = performance.now();
    const lock = await acquire(name, options);
    acquireMs.push(performance.now() - t);
    t = performance.now();
    await lock.release();
    releaseMs.push(performance.now() - t);
  }
  // Busy: what a contender pays to learn the lock is held (tryAcquire does not read the holder).
  const busyMs = [];
  const held = await acquire(name, options);
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    if ((await tryAcquire(name, options)) !== undefined) throw new Error('tryAcquire got a held lock');
    busyMs.push(performance.now() - t);
  }
  await held.release();
  // Handoff: this process releases while another process waits; measured from release() to the waiter holding it.
  const handoffMs = [];
  const waiter = spawnChild(name, options, 'waiter');
  await waiter.events.next();
  for (let i = 0; i < HANDOFFS; i++) {
    const lock = await acquire(name, { ...options, wait: true });
    waiter.proc.stdin.write('wait\n');
    await sleep(20); // let the waiter queue up
    const t0 = now();
    await lock.release();
    handoffMs.push((await waiter.events.next()).t - t0);
  }
  // Takeover: a holder process is SIGKILLed while the waiter waits.
  const takeoverMs = [];
  for (let i = 0; i < TAKEOVERS; i++) {
    const holder = spawnChild(name, options, 'holder');
    await holder.events.next();
    waiter.proc.stdin.write('wait\n');
    await sleep(30);
    const t0 = now();
    holder.proc.kill('SIGKILL');
    takeoverMs.push((await waiter.events.next()).t - t0);
  }
  waiter.proc.kill();
  return { acquire: stats(acquireMs), release: stats(releaseMs), busy: stats(busyMs), handoff: stats(handoffMs), takeover: stats(takeoverMs) };
}

/** Wall time of `onlyone run` on postgres against `node -e 0`, interleaved; and the lease guard's CPU. */
function cliCosts(url) {
  const contenders = {
    'node -e 0': [process.execPath, ['-e', '0']],
    'onlyone run --backend postgres://… NAME -- true': [process.execPath, [cli, 'run', '--backend', url, `bench-cli-${process.pid}`, '--', 'true']],
  };
  const wall = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let round = 0; round < CLI_ROUNDS + 2; round++) {
    for (const [name, [file, args]] of Object.entries(contenders)) {
      const start = performance.now();
      const result = spawnSync(file, args, { stdio: 'ignore' });
      if (result.status !== 0) throw new Error(`${name} exited with ${result.status ?? result.signal}`);
      if (round >= 2) wall[name].push(performance.now() - start);
    }
  }
  // CPU (user + system) of N guard starts that are told `done` at once, against N bare node starts: bash's `times`
  // counts the children it waited for. The guard is not waited for by onlyone, so it never shows in run's own rusage.
  const cpuOf = (command) => {
    const out = execFileSync('bash', ['-c', `for i in $(seq ${CLI_ROUNDS}); do ${command}; done; times`], { encoding: 'utf8' });
    const [user, system] = [...out.trim().split('\n').at(-1).matchAll(/(\d+)m([\d.]+)s/gu)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    return ((user + system) * 1000) / CLI_ROUNDS;
  };
  const node = JSON.stringify(process.execPath);
  const cpu = {
    'node -e 0': cpuOf(`${node} -e 0`),
    // fd 3 a TCP connection to the server, as in a real run: the guard loads koffi to wait on it in poll(2).
    'lease guard, start to exit': cpuOf(`echo done | ${node} ${JSON.stringify(guard)} 1 bench 3<>/dev/tcp/127.0.0.1/${new URL(url).port}`),
  };
  return { wall: Object.fromEntries(Object.entries(wall).map(([name, samples]) => [name, stats(samples)])), cpu };
}

/** SIGKILL of a CLI holder (`onlyone run … -- sleep`): until a waiter here holds the lock. The guard kills the command first. */
async function cliTakeover(url) {
  const name = `bench-clikill-${process.pid}`;
  const samples = [];
  for (let i = 0; i < TAKEOVERS; i++) {
    // --wait: a probe below may hold the lock for an instant just as the holder starts.
    const holder = spawn(process.execPath, [cli, 'run', '--wait', '--backend', url, name, '--', 'sleep', '60'], { stdio: 'ignore' });
    // Held once a tryAcquire fails; then wait on it from here.
    for (;;) {
      if (holder.exitCode !== null) throw new Error(`the CLI holder exited with ${holder.exitCode}`);
      const probe = await tryAcquire(name, { backend: 'postgres', url });
      if (probe === undefined) break;
      await probe.release();
      await sleep(10);
    }
    const waiting = acquire(name, { backend: 'postgres', url, wait: true });
    await sleep(30);
    const t0 = performance.now();
    holder.kill('SIGKILL');
    const lock = await waiting;
    samples.push(performance.now() - t0);
    await lock.release();
  }
  return stats(samples);
}

/** The live descendants of `pid`, its lease guard left out. */
function treeOf(pid) {
  const found = [];
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let children = [];
    try {
      children = readFileSync(`/proc/${next}/task/${next}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
    } catch { /* gone */ }
    for (const child of children) {
      try {
        if (readFileSync(`/proc/${child}/cmdline`, 'latin1').includes('lease-guard.cjs')) continue;
      } catch { continue; }
      found.push(child);
      pending.push(child);
    }
  }
  return found;
}

function ended(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * pg_terminate_backend of a CLI holder whose command is a 3-process tree (sh and two sleeps): until the last process
 * of the tree has exited (looked at every ~1 ms), and until a queued waiter here holds the lock.
 */
async function treeKillAfterTerminate(url) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const name = `bench-tree-${process.pid}`;
  const treeGone = [];
  const acquired = [];
  try {
    for (let i = 0; i < TAKEOVERS; i++) {
      const holder = spawn(process.execPath, [cli, 'run', '--wait', '--grace', '1', '--backend', url, name, '--', '/bin/sh', '-c', 'sleep 601 & sleep 602 & wait'], { stdio: 'ignore' });
      let tree = [];
      while ((tree = treeOf(holder.pid)).length < 3) await sleep(5);
      const appName = `onlyone ${holder.pid}@${hostname()}`.slice(0, 63);
      const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [appName]);
      if (rows.length !== 1) throw new Error(`expected one session for ${appName}, found ${rows.length}`);
      let acquiredAt;
      const waiting = acquire(name, { backend: 'postgres', url, wait: true }).then((lock) => {
        acquiredAt = performance.now();
        return lock;
      });
      await sleep(30);
      const t0 = performance.now();
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      while (!tree.every(ended)) await sleep(0.5);
      treeGone.push(performance.now() - t0);
      const lock = await waiting;
      acquired.push(acquiredAt - t0);
      await lock.release();
      await new Promise((resolve) => (holder.exitCode === null ? holder.once('exit', resolve) : resolve()));
    }
  } finally {
    await admin.end();
  }
  return { treeGone: stats(treeGone), contenderAcquired: stats(acquired) };
}

if (findPostgresBin() === undefined) {
  console.error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  process.exit(1);
}
const server = await startPostgres();
try {
  const results = {
    abstract: await run('abstract', {}),
    postgres: await run('postgres', { backend: 'postgres', url: server.url }),
  };
  const fmt = (s) => `${s.median.toFixed(2)} / ${s.p99.toFixed(2)}`;
  console.log(`node ${process.version}, ${ITERATIONS} acquire/release, ${HANDOFFS} handoffs, ${TAKEOVERS} takeovers; median / p99 in ms\n`);
  console.log('| operation | abstract | postgres | ratio (medians) |\n|---|---|---|---|');
  for (const op of ['acquire', 'release', 'busy', 'handoff', 'takeover']) {
    const a = results.abstract[op];
    const p = results.postgres[op];
    console.log(`| ${op} | ${fmt(a)} | ${fmt(p)} | ${(p.median / a.median).toFixed(1)}x |`);
  }
  const costs = cliCosts(server.url);
  const base = costs.wall['node -e 0'].median;
  console.log(`\nCLI, ${CLI_ROUNDS} interleaved rounds; wall ms median / p99, ratio of medians to node -e 0\n`);
  console.log('| command | wall | ratio |\n|---|---|---|');
  for (const [name, s] of Object.entries(costs.wall)) console.log(`| ${name} | ${fmt(s)} | ${(s.median / base).toFixed(2)}x |`);
  console.log(`\nCPU per start, ms (user + system, mean of ${CLI_ROUNDS}): node -e 0 ${costs.cpu['node -e 0'].toFixed(1)}, lease guard ${costs.cpu['lease guard, start to exit'].toFixed(1)} (${(costs.cpu['lease guard, start to exit'] / costs.cpu['node -e 0']).toFixed(2)}x)`);
  const cliKill = await cliTakeover(server.url);
  console.log(`\nSIGKILL of onlyone run (command: sleep 60) until a waiter holds the lock: ${fmt(cliKill)} ms; library holder above: ${fmt(results.postgres.takeover)} ms`);
  const terminated = await treeKillAfterTerminate(server.url);
  console.log(`\npg_terminate_backend of onlyone run's session, command a 3-process tree (sh, 2 sleeps): last process of the tree gone ${fmt(terminated.treeGone)} ms; a queued contender holds the lock ${fmt(terminated.contenderAcquired)} ms`);
  console.log(`\n${JSON.stringify({ ...results, cli: { ...costs, takeoverAfterKill: cliKill, treeAfterTerminate: terminated } })}`);
} finally {
  server.stop();
}
process.exit(0);
