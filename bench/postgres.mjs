// Acquire, release, busy (tryAcquire on a held lock), handoff and takeover-after-SIGKILL on the postgres backend (private local cluster) against the
// abstract backend, in one run. Prints medians and p99 in ms, as a Markdown table and as JSON.
//   npm run bench:postgres            (ITERATIONS=300 TAKEOVERS=30 by default)
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { acquire, tryAcquire } from '../dist/index.js';
import { jsonLines } from '../test/helpers.mjs';
import { findPostgresBin, startPostgres } from '../test/postgres-server.mjs';

const ITERATIONS = Number(process.env.ITERATIONS ?? 300);
const HANDOFFS = Number(process.env.HANDOFFS ?? 100);
const TAKEOVERS = Number(process.env.TAKEOVERS ?? 30);
const child = fileURLToPath(new URL('./lock-child.mjs', import.meta.url));
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
  console.log(`\n${JSON.stringify(results)}`);
} finally {
  server.stop();
}
process.exit(0);
