// The etcd backend against `etcdctl lock`, both as commands on the same private member, in one run:
//   lock + run `true` + unlock, start to exit;  handoff when the holder's command ends (waiter: a second command);
//   takeover after SIGKILL of the holder (both with a 2 s TTL), and whether the killed holder's command lived on.
// The library's own acquire + release (in one process) is measured too. Needs etcd, etcdctl and gcc.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { acquire } from '../dist/index.js';
import { startEtcd } from '../test/etcd-server.mjs';
import { isMain } from './lib/env.mjs';
import { nativeHelper } from './lib/native.mjs';
import { spawnJson } from './lib/procs.mjs';
import { printTable, summarize } from './lib/stats.mjs';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const TTL = 2;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The command line that takes NAME and runs `command` under each tool; `dir` is where its queue of keys lives. */
function tools(url, endpoints) {
  const onlyone = (name, command, { wait = false, ttl } = {}) => [process.execPath, [cli, 'run', ...(wait ? ['--wait'] : []), '--backend', url, ...(ttl ? ['--ttl', String(ttl)] : []), name, '--', ...command]];
  const etcdctl = (name, command, { ttl } = {}) => ['etcdctl', ['--endpoints', endpoints, 'lock', ...(ttl ? [`--ttl=${ttl}`] : []), name, '--', ...command]];
  return {
    'onlyone run --backend etcd://…': Object.assign(onlyone, { dir: (name) => `onlyone/v1/${name}/` }),
    'etcdctl lock': Object.assign(etcdctl, { dir: (name) => `${name}/` }),
  };
}

/** How many keys are queued under `dir`. */
async function queued(endpoint, dir) {
  const b64 = (text) => Buffer.from(text).toString('base64');
  const end = Buffer.from(dir);
  end[end.length - 1]++;
  const response = await fetch(`${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64(dir), range_end: end.toString('base64'), count_only: true }) });
  return Number((await response.json()).count ?? 0);
}

/** Whether a process runs (exists and is not a zombie). */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/u.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Start to exit of `lock NAME true`, the tools (and a bare `node -e 0`, the floor of any Node CLI) interleaved. */
function startToExit(tools, rounds) {
  const all = { ...tools, 'node -e 0 (no lock)': () => [process.execPath, ['-e', '0']] };
  const samples = Object.fromEntries(Object.keys(all).map((key) => [key, []]));
  for (let round = 0; round < rounds + 2; round++) {
    for (const [key, line] of Object.entries(all)) {
      const [file, args] = line(`bench-etcd-cli-${process.pid}`, ['true']);
      const start = performance.now();
      const result = spawnSync(file, args, { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
      if (result.status !== 0) throw new Error(`${key} exited with ${result.status ?? result.signal}`);
      if (round >= 2) samples[key].push(performance.now() - start);
    }
  }
  return samples;
}

/**
 * A holder runs `sh -c 'echo pid; wait for a stop file; now'` (etcdctl gives its command no stdin); a waiter queues
 * with `now` as its command. `end` is 'release' (the stop file: the holder's command prints the time and ends, and
 * the tool unlocks) or 'kill' (SIGKILL of the tool). Returns the ms from that moment to the waiter's command start,
 * and whether the holder's command still ran then.
 */
async function handover(line, endpoint, name, now, end) {
  const env = { ...process.env, ETCDCTL_API: '3' };
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-bench-etcd-'));
  const stop = join(dir, 'stop');
  const [hf, ha] = line(name, ['sh', '-c', `echo "{\\"pid\\":$$}"; while [ ! -e ${stop} ]; do sleep 0.005; done; exec ${now}`], { ttl: TTL });
  const holder = spawnJson(hf, ha, { env, detached: false });
  const { pid: commandPid } = await holder.next();
  const [wf, wa] = line(name, [now], { wait: true });
  const waiter = spawnJson(wf, wa, { env });
  // Let the waiter queue up behind the holder: its key is the second under the lock's directory.
  while ((await queued(endpoint, line.dir(name))) < 2) await sleep(5);
  let t0;
  if (end === 'release') {
    spawnSync('touch', [stop]);
    t0 = BigInt((await holder.next()).t);
  } else {
    t0 = process.hrtime.bigint();
    holder.child.kill('SIGKILL');
  }
  const t1 = BigInt((await waiter.next(TTL * 1000 + 30_000)).t);
  const orphan = running(commandPid);
  if (orphan) process.kill(commandPid, 'SIGKILL');
  await waiter.exited;
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) throw new Error(`cannot remove ${dir}`);
  return { ms: Number(t1 - t0) / 1e6, orphan };
}

export async function run({ quick = false } = {}) {
  const now = nativeHelper('now');
  if (now === undefined) throw new Error('bench/etcd.mjs needs gcc for bench/native/now.c');
  const server = await startEtcd();
  try {
    const all = tools(server.url, server.endpoints.join(','));
    const rows = [];
    const library = [];
    for (let i = 0; i < (quick ? 50 : 300); i++) {
      const t = performance.now();
      const lock = await acquire(`bench-etcd-lib-${process.pid}`, { backend: 'etcd', url: server.url });
      await lock.release();
      library.push(performance.now() - t);
    }
    rows.push(summarize({ group: 'etcd: acquire + release in one process', name: 'onlyone acquire() + release()', unit: 'ms', samples: library }));
    for (const [key, samples] of Object.entries(startToExit(all, quick ? 5 : 30))) {
      rows.push(summarize({ group: 'etcd: lock, run `true`, unlock: start to exit', name: key, unit: 'ms', samples }));
    }
    for (const [end, trials] of [['release', quick ? 5 : 30], ['kill', quick ? 2 : 6]]) {
      const samples = Object.fromEntries(Object.keys(all).map((key) => [key, []]));
      const orphans = Object.fromEntries(Object.keys(all).map((key) => [key, 0]));
      for (let i = 0; i < trials; i++) {
        for (const [key, line] of Object.entries(all)) {
          const { ms, orphan } = await handover(line, server.endpoints[0], `bench-etcd-${end}-${process.pid}-${i}`, now, end);
          samples[key].push(ms);
          if (orphan) orphans[key]++;
        }
      }
      const group = end === 'release' ? 'etcd: handoff when the holder\'s command ends' : `etcd: takeover after SIGKILL of the holder (TTL ${TTL} s)`;
      for (const key of Object.keys(all)) {
        const note = end === 'kill' ? `the killed holder's command lived on in ${orphans[key]} of ${trials} trials` : undefined;
        rows.push(summarize({ group, name: key, unit: 'ms', samples: samples[key], ...(note ? { note } : {}) }));
      }
    }
    return rows;
  } finally {
    server.stop();
  }
}

if (isMain(import.meta.url)) {
  const rows = await run({ quick: process.argv.includes('--quick') });
  printTable(rows);
  for (const row of rows) if (row.note) process.stdout.write(`${row.group}, ${row.name}: ${row.note}\n`);
}
