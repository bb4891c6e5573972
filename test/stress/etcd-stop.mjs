// `npm run test:stress:etcd`: at most once across stops, on a private etcd member. The shape of
// test/stress/postgres-stop.mjs, on the etcd backend: a 1 s lease, and the guard has no connection to watch.
//
// H holder loops each run `onlyone run --wait --backend etcd://… --ttl 1 NAME -- worker`, in its
// own process group, again and again. The worker stamps a unit of work (CLOCK_MONOTONIC, written synchronously)
// every 5 ms for 50-300 ms. A chaos loop meanwhile picks a running `onlyone` and, at random: SIGSTOPs it alone or its
// whole process group (a job-control stop), for 0.3-2.5 s (often past the 1 s lease), then SIGCONTs it; or
// SIGKILLs it. Afterwards every run's work must lie strictly before the next run's: no two commands ever worked
// at once, whatever was stopped or killed.
//   --seconds T (default 60)   --holders H (default 4)
//   --self-check: first 3 s of workers run without onlyone, and fail unless the checker catches them
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../etcd-server.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    holders: { type: 'string', default: '4' },
    'self-check': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const holders = Number(values.holders);
if (!(seconds > 0) || !(holders >= 2)) throw new Error('--seconds must be > 0 and --holders >= 2');
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const log = (text) => process.stdout.write(`stress etcd: ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min, max) => min + Math.random() * (max - min);

// One line per unit of work: "<pid> <CLOCK_MONOTONIC ns>", appended with one write.
const WORKER = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'a');
const until = Date.now() + 50 + Math.random() * 250;
const unit = () => {
  fs.writeSync(fd, process.pid + ' ' + process.hrtime.bigint() + '\\n');
  if (Date.now() < until) setTimeout(unit, 5);
};
unit();
`;

/** Every run's [first, last] work stamp, sorted by start; and the overlaps between consecutive runs. */
function check(file) {
  const runs = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^(\d+) (\d+)$/u.exec(line);
    if (match === null) continue;
    const t = BigInt(match[2]);
    const run = runs.get(match[1]);
    if (run === undefined) runs.set(match[1], { pid: match[1], first: t, last: t, units: 1 });
    else {
      if (t < run.first) run.first = t;
      if (t > run.last) run.last = t;
      run.units++;
    }
  }
  const sorted = [...runs.values()].sort((a, b) => (a.first < b.first ? -1 : 1));
  const overlaps = [];
  let latest;
  for (const run of sorted) {
    if (latest !== undefined && run.first <= latest.last) overlaps.push({ earlier: latest, later: run, ms: Number(latest.last - run.first) / 1e6 });
    if (latest === undefined || run.last > latest.last) latest = run;
  }
  return { runs: sorted, overlaps };
}

/** Whether this `onlyone` holds the lock: then it has two children, its lease guard and its command. */
function isHolding(child) {
  try {
    return readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ').length >= 2;
  } catch {
    return false;
  }
}

/** Workers started without onlyone, two at a time: the checker must see them overlap. */
async function selfCheck(dir) {
  const file = join(dir, 'self-check.log');
  const started = Date.now();
  while (Date.now() - started < 3000) {
    const pair = [0, 1].map(() => spawn(process.execPath, ['-e', WORKER, file], { stdio: 'ignore' }));
    await Promise.all(pair.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  }
  const { overlaps } = check(file);
  if (overlaps.length === 0) throw new Error('self-check: the checker saw no overlap between unlocked workers');
  log(`self-check: the checker caught ${overlaps.length} overlaps between workers that took no lock`);
}

const dir = mkdtempSync(join(tmpdir(), 'onlyone-stress-etcd-'));
const server = await startEtcd();
const running = new Set();
const stats = { runs: 0, lost: 0, other: 0, stops: 0, groupStops: 0, longStops: 0, kills: 0 };
let stopping = false;
try {
  if (values['self-check']) await selfCheck(dir);
  const name = `stress-etcd-${randomBytes(6).toString('hex')}`;
  const file = join(dir, 'work.log');

  const holderLoop = async () => {
    while (!stopping) {
      const args = [cli, 'run', '--wait', '-q', '--grace', '1', '--backend', server.url, '--ttl', '1', name, '--', process.execPath, '-e', WORKER, file];
      // Own process group (detached), like a job a shell started: the chaos loop can stop the whole job.
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
      running.add(child);
      const code = await new Promise((resolve) => child.once('exit', (status, signal) => resolve(status ?? signal)));
      running.delete(child);
      stats.runs++;
      if (code === 79) stats.lost++;
      else if (code !== 0 && code !== 'SIGKILL') {
        stats.other++;
        log(`onlyone run ended with ${code}: ${stderr.trim()}`);
      }
    }
  };

  const chaosLoop = async () => {
    while (!stopping) {
      await sleep(between(100, 400));
      // Mostly the holder (its command runs), so that stops really race the lease; sometimes a waiter.
      const all = [...running];
      const holding = all.filter(isHolding);
      const victims = holding.length > 0 && Math.random() < 0.8 ? holding : all;
      const victim = victims[Math.floor(Math.random() * victims.length)];
      if (victim === undefined || victim.exitCode !== null) continue;
      const roll = Math.random();
      try {
        if (roll < 0.15) {
          stats.kills++;
          process.kill(victim.pid, 'SIGKILL');
          continue;
        }
        const group = roll < 0.55;
        const target = group ? -victim.pid : victim.pid;
        const ms = between(300, 2500);
        stats.stops++;
        if (group) stats.groupStops++;
        if (ms > 1000) stats.longStops++;
        process.kill(target, 'SIGSTOP');
        await sleep(ms);
        process.kill(target, 'SIGCONT');
      } catch {
        // It ended meanwhile.
      }
    }
  };

  log(`${holders} holders, ${seconds} s, lease 1 s, chaos: SIGSTOP of onlyone or its job for 0.3-2.5 s, or SIGKILL`);
  const loops = [...Array.from({ length: holders }, holderLoop), chaosLoop()];
  await sleep(seconds * 1000);
  stopping = true;
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGCONT');
    } catch {
      // Gone.
    }
  }
  await Promise.all(loops);

  const { runs, overlaps } = check(file);
  const units = runs.reduce((sum, run) => sum + run.units, 0);
  log(`${stats.runs} runs of onlyone (${stats.lost} exited 79: lock lost; ${stats.other} other failures), ${runs.length} commands did ${units} units of work`);
  log(`chaos: ${stats.stops} stops (${stats.groupStops} of the whole job, ${stats.longStops} longer than the lease), ${stats.kills} SIGKILLs of onlyone`);
  if (stats.other > 0) throw new Error(`${stats.other} runs failed for another reason than a conflict or a lost lock`);
  if (stats.lost === 0) throw new Error('no run lost its lock: the chaos never stopped a holder past its lease');
  if (overlaps.length > 0) {
    for (const { earlier, later, ms } of overlaps.slice(0, 5)) log(`OVERLAP: command ${later.pid} worked while ${earlier.pid} still did, for ${ms.toFixed(1)} ms`);
    throw new Error(`${overlaps.length} overlaps: two commands worked at once`);
  }
  log('PASSED: no two commands ever worked at once');
} finally {
  stopping = true;
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}
