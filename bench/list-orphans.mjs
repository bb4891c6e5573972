// `list` over locks whose binder has exited: 1,000 locks held by commands that inherited them (10 `sleep`
// processes, 100 locks each, as after SIGKILLed `onlyone run` wrappers), next to 100 ordinary holders. Each such
// holder is found through /proc; list makes one walk for all of them. Goal: under 2 s, every holder verified.
// The anchor is one full /proc walk in the same run, the cost that a walk per lock would pay 1,000 times.
//   node bench/list-orphans.mjs [orphans=1000] [holders=100] [runs=5]
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { list } from '../dist/index.js';
import { pidsHoldingInode } from '../dist/identity/socket-holders.js';

const [orphans = 1000, holders = 100, runs = 5] = process.argv.slice(2).map(Number);
const GOAL_MS = 2000;
const prefix = `onlyone-bench-orphans-${process.pid}/`;
const fixtures = new URL('../test/fixtures/', import.meta.url);
const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

const orphanPids = JSON.parse(execFileSync(process.execPath, [fileURLToPath(new URL('hold-orphans.mjs', fixtures)), `${prefix}o/`, String(orphans), '10'], { encoding: 'utf8' }));
const live = spawn(process.execPath, [fileURLToPath(new URL('hold-many.mjs', fixtures)), `${prefix}h/`, String(holders)], { stdio: ['pipe', 'pipe', 'inherit'] });
try {
  await once(live.stdout, 'data');
  const times = [];
  let seen = [];
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    seen = [...(await list({ prefix: `${prefix}o/` })), ...(await list({ prefix: `${prefix}h/` }))];
    times.push(performance.now() - t0);
  }
  const verified = seen.filter((h) => h.verified).length;
  if (seen.length !== orphans + holders) throw new Error(`list saw ${seen.length} locks, not ${orphans + holders}`);
  const scans = [];
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    await pidsHoldingInode(1);
    scans.push(performance.now() - t0);
  }
  const ms = median(times);
  console.log(`node ${process.version}: ${orphans} locks held by commands that inherited them + ${holders} ordinary holders; ${verified}/${seen.length} verified`);
  console.log(`list() median of ${runs}: ${ms.toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}); goal < ${GOAL_MS} ms: ${ms < GOAL_MS && verified === seen.length ? 'met' : 'MISSED'}`);
  console.log(`anchor: one full /proc walk: median ${median(scans).toFixed(0)} ms (a walk per lock would cost ${orphans}×)`);
  console.log(`load average while measuring: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} CPUs`);
} finally {
  for (const pid of orphanPids) process.kill(pid, 'SIGKILL');
  live.stdin.end();
}
