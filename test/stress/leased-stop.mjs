// `npm run test:stress:postgres` and `test:stress:etcd`: at most once across stops and kills, counted on every process
// of every command tree, on a leased backend (`--backend postgres|etcd`, a private server started here).
//
// H holder loops each run `onlyone run --wait --backend URL LEASE NAME -- COMMAND` (LEASE: postgres
// `--idle-session-timeout 1`, etcd `--ttl 1`: a 1 s lease), in its
// own process group, again and again. COMMAND is, at random, one worker; a tree (`sh -c 'worker & worker; wait'`);
// or a double-forked worker in a session of its own next to a worker. A worker stamps a unit of work (run, fence, pid,
// CLOCK_MONOTONIC, written synchronously) every 5 ms for 50-300 ms, or for 1.5 s in one run of five, so waiters queue
// for longer than the 1 s lease. A chaos loop meanwhile picks a running `onlyone` and, at random: SIGSTOPs it alone or
// its whole process group for 0.3-2.5 s (often past the lease), then SIGCONTs it; SIGKILLs it; SIGKILLs its lease
// guard; SIGKILLs both (only when the command is one process: the rest of a tree is then not covered, see
// docs/postgres.md); or ends its session (postgres: pg_terminate_backend; etcd: the lease revoked). Afterwards the work of every run (all processes
// of its tree, grouped by fencing token) must lie strictly before the next run's.
//   --seconds T (default 60)   --holders H (default 4)
//   --self-check: first, workers without onlyone, and runs whose worker escapes the tree (a double fork that also
//   drops ONLYONE_TREE, as every descendant escaped before): the checker must catch both
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../etcd-server.mjs';
import { startPostgres } from '../postgres-server.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    holders: { type: 'string', default: '4' },
    'self-check': { type: 'boolean', default: false },
    backend: { type: 'string', default: 'postgres' },
  },
});

/** What differs between the leased backends: the server, the lease flag, and how chaos ends a holder's session. */
const BACKENDS = {
  postgres: {
    start: startPostgres,
    lease: ['--idle-session-timeout', '1'],
    ending: 'pg_terminate_backend',
    // The server frees the lock before the connection closes: a queued waiter may start before the old tree is dead.
    endingIsWindow: true,
    async end(server, pid) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1 AND state <> 'active'`, [`onlyone ${pid}@%`]);
      } finally {
        await client.end();
      }
    },
  },
  etcd: {
    start: startEtcd,
    lease: ['--ttl', '1'],
    ending: 'lease revoke',
    endingIsWindow: false,
    /** Revokes the lease of the key `onlyone run` (pid) holds or queues with: etcd deletes the key at once. */
    async end(server, pid) {
      const post = async (path, body) => (await fetch(`${server.endpoints[0]}/v3/${path}`, { method: 'POST', body: JSON.stringify(body) })).json();
      const prefix = Buffer.from('onlyone/v1/');
      const end = Buffer.from(prefix);
      end[end.length - 1]++;
      const { kvs = [] } = await post('kv/range', { key: prefix.toString('base64'), range_end: end.toString('base64') });
      for (const kv of kvs) {
        let hello;
        try { hello = JSON.parse(Buffer.from(kv.value ?? '', 'base64').toString('utf8')); } catch { continue; }
        if (hello.pid === pid && kv.lease !== undefined) await post('lease/revoke', { ID: kv.lease });
      }
    },
  },
};
const backend = BACKENDS[values.backend];
if (backend === undefined) throw new Error(`--backend must be one of ${Object.keys(BACKENDS).join(', ')}`);
const seconds = Number(values.seconds);
const holders = Number(values.holders);
if (!(seconds > 0) || !(holders >= 2)) throw new Error('--seconds must be > 0 and --holders >= 2');
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const log = (text) => process.stdout.write(`stress ${values.backend}: ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min, max) => min + Math.random() * (max - min);

// One line per unit of work: "<run> <fence> <pid> <CLOCK_MONOTONIC ns>", appended with one write. RUN (the stress
// test's number for one `onlyone run`) and ONLYONE_FENCE come from the environment, which the whole tree inherits.
const WORKER = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'a');
const until = Date.now() + (process.env.LONG === '1' ? 1500 : 50 + Math.random() * 250);
const tag = (process.env.RUN || '-') + ' ' + (process.env.ONLYONE_FENCE || '0') + ' ' + process.pid + ' ';
const unit = () => {
  fs.writeSync(fd, tag + process.hrtime.bigint() + '\\n');
  if (Date.now() < until) setTimeout(unit, 5);
};
unit();
`;
/** Command shapes: argv after `--`, given the worker's source ($W) and log file ($F) in the environment. */
const SHAPES = {
  single: () => [process.execPath, '-e', WORKER, file],
  tree: () => ['/bin/sh', '-c', '"$NODE" -e "$W" "$F" & "$NODE" -e "$W" "$F"; wait'],
  daemon: () => ['/bin/sh', '-c', '(setsid "$NODE" -e "$W" "$F" &); "$NODE" -e "$W" "$F"'],
  // Self-check only: a worker that escapes the tree the way every descendant did before (double fork, no marker).
  escaped: () => ['/bin/sh', '-c', '(env -u ONLYONE_TREE setsid "$NODE" -e "$W" "$F" &); exit 0'],
};
let file;

/** Every run's work (all processes of its tree, grouped by fence): [first, last], sorted by start; and the overlaps. */
function check(path) {
  const runs = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^(\S+) (\d+) (\d+) (\d+)$/u.exec(line);
    if (match === null) continue;
    const t = BigInt(match[4]);
    // Workers started without onlyone have no fence: each process is its own "run".
    const key = match[2] === '0' ? `pid ${match[3]}` : `fence ${match[2]}`;
    const run = runs.get(key);
    if (run === undefined) runs.set(key, { key, run: match[1], first: t, last: t, units: 1, pids: new Set([match[3]]) });
    else {
      if (t < run.first) run.first = t;
      if (t > run.last) run.last = t;
      run.units++;
      run.pids.add(match[3]);
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

/** The children of `pid`. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** This `onlyone`'s lease guard, when it holds the lock (then it has two children: the guard and its command). */
function guardOf(child) {
  const children = childrenOf(child.pid);
  if (children.length < 2) return undefined;
  return children.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('lease-guard.cjs');
    } catch {
      return false;
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), `onlyone-stress-${values.backend}-`));
const server = await backend.start();
const running = new Map();
const stats = { runs: 0, lost: 0, other: 0, stops: 0, groupStops: 0, longStops: 0, kills: 0, guardKills: 0, bothKills: 0, terminates: 0, trees: 0, daemons: 0, long: 0 };
/** Per run: when chaos killed onlyone, its guard or both, or ended its session (CLOCK_MONOTONIC ns). */
const struck = new Map();
let stopping = false;
let runCounter = 0;

/** Runs H holder loops for `ms`, with chaos; `shape` picks each run's command. Resolves when all have ended. */
async function holdersFor(ms, name, pickShape, chaos) {
  const holderLoop = async () => {
    while (!stopping) {
      const run = String(++runCounter);
      const shape = pickShape();
      const long = Math.random() < 0.2;
      if (shape === 'tree') stats.trees++;
      if (shape === 'daemon') stats.daemons++;
      if (long) stats.long++;
      const args = [cli, 'run', '--wait', '-q', '--grace', '1', '--backend', server.url, ...backend.lease, name, '--', ...SHAPES[shape]()];
      // Own process group (detached), like a job a shell started: the chaos loop can stop the whole job.
      const env = { ...process.env, RUN: run, NODE: process.execPath, W: WORKER, F: file, LONG: long ? '1' : '0' };
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
      running.set(child, { run, shape });
      const code = await new Promise((resolve) => child.once('close', (status, signal) => resolve(status ?? signal)));
      running.delete(child);
      stats.runs++;
      if (code === 79) stats.lost++;
      else if (code !== 0 && code !== 'SIGKILL') {
        // The next failure must explain itself: how the run ended and what it said.
        stats.other++;
        log(`OTHER: onlyone run (pid ${child.pid}, ${shape}) ended with ${code}: ${stderr.trim() || '(no stderr)'}`);
      }
    }
  };
  const loops = [...Array.from({ length: holders }, holderLoop), ...(chaos ? [chaosLoop()] : [])];
  await sleep(ms);
  stopping = true;
  for (const child of running.keys()) {
    try {
      process.kill(-child.pid, 'SIGCONT');
    } catch {
      // Gone.
    }
  }
  await Promise.all(loops);
  stopping = false;
}


async function chaosLoop() {
  while (!stopping) {
    await sleep(between(100, 400));
    // Mostly the holder (its command runs), so that stops really race the lease; sometimes a waiter.
    const all = [...running.keys()];
    const holding = all.filter((child) => guardOf(child) !== undefined);
    const victims = holding.length > 0 && Math.random() < 0.8 ? holding : all;
    const victim = victims[Math.floor(Math.random() * victims.length)];
    if (victim === undefined || victim.exitCode !== null) continue;
    const { run, shape } = running.get(victim) ?? {};
    const guard = guardOf(victim);
    const roll = Math.random();
    const strike = (kind) => {
      if (!struck.has(run)) struck.set(run, { at: process.hrtime.bigint(), kind });
    };
    try {
      if (roll < 0.12) {
        stats.kills++;
        strike('kill');
        process.kill(victim.pid, 'SIGKILL');
      } else if (roll < 0.24 && guard !== undefined) {
        stats.guardKills++;
        strike('guard');
        process.kill(guard, 'SIGKILL');
      } else if (roll < 0.34 && guard !== undefined && shape === 'single') {
        stats.bothKills++;
        strike('both');
        process.kill(guard, 'SIGKILL');
        process.kill(victim.pid, 'SIGKILL');
      } else if (roll < 0.5 && guard !== undefined) {
        stats.terminates++;
        strike('terminate');
        await backend.end(server, victim.pid);
      } else {
        const group = roll < 0.75;
        const target = group ? -victim.pid : victim.pid;
        const ms = between(300, 2500);
        stats.stops++;
        if (group) stats.groupStops++;
        if (ms > 1000) stats.longStops++;
        process.kill(target, 'SIGSTOP');
        await sleep(ms);
        process.kill(target, 'SIGCONT');
      }
    } catch {
      // It ended meanwhile.
    }
  }
}

/** Workers started without onlyone, two at a time, then runs whose worker escapes the tree: both must overlap. */
async function selfCheck() {
  file = join(dir, 'self-check-unlocked.log');
  const started = Date.now();
  while (Date.now() - started < 3000) {
    const pair = [0, 1].map(() => spawn(process.execPath, ['-e', WORKER, file], { stdio: 'ignore' }));
    await Promise.all(pair.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  }
  const unlocked = check(file).overlaps.length;
  if (unlocked === 0) throw new Error('self-check: the checker saw no overlap between unlocked workers');
  file = join(dir, 'self-check-escaped.log');
  await holdersFor(3000, `stress-${values.backend}-self-${randomBytes(6).toString('hex')}`, () => 'escaped', false);
  await sleep(500); // the escaped workers finish
  const escaped = check(file).overlaps.length;
  if (escaped === 0) throw new Error('self-check: the checker saw no overlap between runs whose worker escaped the tree');
  log(`self-check: the checker caught ${unlocked} overlaps between workers that took no lock, and ${escaped} between runs whose worker escaped the tree`);
}

try {
  if (values['self-check']) await selfCheck();
  Object.assign(stats, { runs: 0, lost: 0, other: 0 });
  file = join(dir, 'work.log');
  const name = `stress-${values.backend}-${randomBytes(6).toString('hex')}`;
  log(`${holders} holders, ${seconds} s, lease 1 s; commands: one worker, a tree, or a double-forked worker; chaos: SIGSTOP of onlyone or its job for 0.3-2.5 s, SIGKILL of onlyone, of its guard, of both, ${backend.ending}`);
  const shapes = ['single', 'single', 'tree', 'daemon'];
  await holdersFor(seconds * 1000, name, () => shapes[Math.floor(Math.random() * shapes.length)], true);
  await sleep(500); // a straggler's last write, if any, lands before the check

  const { runs, overlaps } = check(file);
  const units = runs.reduce((sum, run) => sum + run.units, 0);
  const processes = runs.reduce((sum, run) => sum + run.pids.size, 0);
  // How long the old tree kept working after chaos struck its run (kill or session end), at worst.
  let longestAfter = 0n;
  for (const run of runs) {
    const at = struck.get(run.run)?.at;
    if (at !== undefined && run.last - at > longestAfter) longestAfter = run.last - at;
  }
  let closest;
  for (let i = 1; i < runs.length; i++) {
    const gap = runs[i].first - runs[i - 1].last;
    if (closest === undefined || gap < closest) closest = gap;
  }
  log(`${stats.runs} runs of onlyone (${stats.lost} exited 79: lock lost; ${stats.other} other failures); ${runs.length} commands (${stats.trees} trees, ${stats.daemons} with a double-forked worker, ${stats.long} working past the lease) did ${units} units of work in ${processes} processes`);
  log(`chaos: ${stats.stops} stops (${stats.groupStops} of the whole job, ${stats.longStops} longer than the lease), ${stats.kills} SIGKILLs of onlyone, ${stats.guardKills} of its guard, ${stats.bothKills} of both, ${stats.terminates} ${backend.ending}`);
  log(`the longest an old tree worked after its onlyone, guard or session was struck: ${(Number(longestAfter) / 1e6).toFixed(1)} ms; the closest one run's last work came to the next run's first: ${closest === undefined ? '-' : (Number(closest) / 1e6).toFixed(1)} ms`);
  if (stats.other > 0) throw new Error(`${stats.other} runs failed for another reason than a conflict or a lost lock`);
  if (stats.lost === 0) throw new Error('no run lost its lock: the chaos never stopped a holder past its lease');
  // pg_terminate_backend frees the lock before the connection closes, so a queued waiter can start before the old
  // tree is dead: the documented window (docs/postgres.md), reported with its size. Any other overlap is a failure.
  const window = backend.endingIsWindow ? overlaps.filter(({ earlier }) => struck.get(earlier.run)?.kind === 'terminate') : [];
  const failures = overlaps.filter((overlap) => !window.includes(overlap));
  if (window.length > 0) log(`after ${backend.ending} (the documented window): ${window.length} overlaps, at most ${Math.max(...window.map((o) => o.ms)).toFixed(1)} ms`);
  if (failures.length > 0) {
    for (const { earlier, later, ms } of failures.slice(0, 5)) log(`OVERLAP: run ${later.key} (${[...later.pids].join(' ')}) worked while ${earlier.key} (${[...earlier.pids].join(' ')}, struck: ${struck.get(earlier.run)?.kind ?? 'no'}) still did, for ${ms.toFixed(1)} ms`);
    throw new Error(`${failures.length} overlaps: two commands worked at once`);
  }
  log('PASSED: no two commands ever worked at once, counting every process of every tree');
} finally {
  stopping = true;
  for (const child of running.keys()) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}
