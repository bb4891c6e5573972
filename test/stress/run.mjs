// `npm run test:stress`: N worker processes contend for one lock for T seconds while a chaos process
// SIGKILLs holders and waiters; a checker then proves from the logs that no two critical sections
// overlapped (or, with slots, no more than that many). Runs the exclusive phase, then slots = 3.
//   --processes N (STRESS_PROCESSES, default 16)   --seconds T (STRESS_SECONDS, default 60, per phase)
//   --phase exclusive|slots|both (default both)    --slots N (default 3)
//   --chaos-min-ms / --chaos-max-ms: pause between kills (default 100..400)
//   --self-check: first run 3 s with workers that take no lock, and fail unless the checker catches them
//   --keep-logs: keep the logs of a phase that passed (they are always kept when it fails)
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { tryAcquire } from '../../dist/index.js';
import { check } from './check.mjs';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: process.env.STRESS_PROCESSES ?? '16' },
    seconds: { type: 'string', default: process.env.STRESS_SECONDS ?? '60' },
    phase: { type: 'string', default: 'both' },
    slots: { type: 'string', default: '3' },
    'chaos-min-ms': { type: 'string', default: '100' },
    'chaos-max-ms': { type: 'string', default: '400' },
    'self-check': { type: 'boolean', default: false },
    'keep-logs': { type: 'boolean', default: false },
  },
});
const processes = Number(values.processes);
const seconds = Number(values.seconds);
const slotCount = Number(values.slots);
if (!(processes >= 2) || !(seconds > 0) || !(slotCount >= 2)) throw new Error('--processes must be >= 2, --seconds > 0, --slots >= 2');
const log = (text) => process.stdout.write(`stress: ${text}\n`);

/** Honest check that the library implements slots: unknown options are ignored, so look at behaviour. */
async function slotsSupported() {
  const name = `stress-slots-probe-${process.pid}-${randomBytes(4).toString('hex')}`;
  const locks = [];
  try {
    for (let i = 0; i < 3; i++) locks.push(await tryAcquire(name, { slots: 2 }));
    return locks[0] !== undefined && locks[1] !== undefined && locks[2] === undefined;
  } catch {
    return false;
  } finally {
    await Promise.all(locks.map((lock) => lock?.release()));
  }
}

async function phase(label, slots, phaseSeconds = seconds) {
  const name = `stress-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `onlyone-stress-${label}-`));
  const runnerLog = openSync(join(dir, 'runner.log'), 'a');
  const workers = new Map();
  const failures = [];
  let stopping = false;
  let spawned = 0;
  const chaos = fork(here('chaos.mjs'), [name, join(dir, 'chaos.log'), values['chaos-min-ms'], values['chaos-max-ms']], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const tellChaos = () => chaos.connected && chaos.send({ pids: [...workers.keys()] });
  const start = () => {
    spawned++;
    const child = spawn(process.execPath, [here('worker.mjs'), name, join(dir, `worker-${spawned}.log`), String(slots)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-2000); });
    workers.set(child.pid, child);
    child.on('exit', (code, signal) => {
      workers.delete(child.pid);
      if (signal !== 'SIGKILL') failures.push(`worker ${child.pid} exited with ${signal ?? code}: ${stderr.trim()}`);
      if (!stopping) start();
      tellChaos();
    });
  };
  for (let i = 0; i < processes; i++) start();
  tellChaos();
  log(`${label}: ${processes} workers, ${phaseSeconds} s, ${slots > 0 ? `at most ${slots} at once` : slots < 0 ? 'NO LOCK (self-check)' : 'exclusive'}, logs in ${dir}`);
  await new Promise((resolve) => setTimeout(resolve, phaseSeconds * 1000));
  stopping = true;
  chaos.send({ stop: true });
  await new Promise((resolve) => chaos.once('exit', resolve));
  const exits = [...workers.values()].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const [pid, child] of workers) {
    const before = process.hrtime.bigint();
    child.kill('SIGKILL');
    writeSync(runnerLog, `KILL ${pid} ${before} ${process.hrtime.bigint()}\n`);
  }
  await Promise.all(exits);
  const limit = slots > 0 ? slots : 1;
  const result = check(dir, limit);
  const problems = [...failures];
  if (result.violations.length > 0) problems.push(`${result.violations.length}+ instants with more than ${limit} holders: ${JSON.stringify(result.violations.slice(0, 3))}`);
  if (result.unended.length > 0) problems.push(`${result.unended.length} sections with neither a release nor a kill: ${JSON.stringify(result.unended.slice(0, 3))}`);
  if (result.sections < 10) problems.push(`only ${result.sections} critical sections completed: the lock made no progress`);
  if (slots > 0 && result.maxOverlap < 2) problems.push(`slots = ${slots} but never more than ${result.maxOverlap} holder at once`);
  log(`${label}: ${result.sections} critical sections (${result.killedHolders} ended by SIGKILL), ${result.kills} kills by chaos, ${spawned} processes in all`);
  log(`${label}: most holders at once ${result.maxOverlap} (limit ${limit}); longest wait ${result.longestWaitMs.toFixed(1)} ms against an average of ${result.averageWaitMs.toFixed(1)} ms (${(result.longestWaitMs / result.averageWaitMs).toFixed(1)}×); longest wait ended by a kill ${result.longestCutWaitMs.toFixed(1)} ms`);
  if ((problems.length === 0 && !values['keep-logs']) || slots < 0) rmSync(dir, { recursive: true, force: true });
  return problems.map((p) => `${label}: ${p}`);
}

const problems = [];
if (values['self-check']) {
  const caught = await phase('self-check', -1, 3);
  if (caught.some((p) => p.includes('instants with more than 1 holders'))) log('self-check: the checker caught workers that take no lock, as it must');
  else problems.push(`self-check: workers without a lock were not caught (${caught.join('; ') || 'no problems reported'})`);
}
if (values.phase === 'both' || values.phase === 'exclusive') problems.push(...(await phase('exclusive', 0)));
if (values.phase === 'both' || values.phase === 'slots') {
  if (await slotsSupported()) problems.push(...(await phase('slots', slotCount)));
  else problems.push('slots: slots not supported yet: acquire(name, { slots: 2 }) did not admit exactly two holders');
}
if (problems.length > 0) {
  for (const p of problems) log(`FAIL ${p}`);
  log('FAILED');
  process.exit(1);
}
log('PASSED: no overlap beyond the limit in any phase');
