// `list` at scale: 5,000 locks held by a few processes, 20,000 more open descriptors on the machine.
// list() identifies every holder by connecting to it and reading its credentials; the anchor is one full
// /proc/*/fd scan, the cost that a scan-based lookup would pay per lock.
//   node bench/list.mjs [locks=5000] [extraFds=20000] [runs=7]
// BASELINE_DIST=/path/to/dist/index.js also times that build's list() on the same locks, interleaved run by
// run (e.g. a build without identity checks), so machine load hits both alike.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { list } from '../dist/index.js';
import { pidsHoldingInode } from '../dist/identity/socket-holders.js';

const [locks = 5000, extraFds = 20_000, runs = 7] = process.argv.slice(2).map(Number);
const HOLDERS = 5;
const HOGS = 4;
const prefix = `onlyone-bench-${process.pid}/`;
const worker = fileURLToPath(new URL('./list-worker.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

function start(args) {
  // Each worker stays well under a 20,000-descriptor limit (1,000 locks or 5,000 files each), so no ulimit change is needed.
  const child = spawn(process.execPath, [worker, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return { child, ready };
}

const children = [];
try {
  for (let i = 0; i < HOLDERS; i++) children.push(start(['hold', prefix, String(i), String(Math.ceil(locks / HOLDERS))]));
  for (let i = 0; i < HOGS; i++) children.push(start(['hog', String(Math.ceil(extraFds / HOGS))]));
  await Promise.all(children.map((c) => c.ready));
  const fdsOnMachine = Number(execFileSync('sh', ['-c', 'ls /proc/[0-9]*/fd 2>/dev/null | wc -l'], { encoding: 'utf8' }));

  const baseline = process.env['BASELINE_DIST'] === undefined ? undefined : (await import(process.env['BASELINE_DIST'])).list;
  const baselineTimes = [];
  const listTimes = [];
  const cpuTimes = [];
  let seen = [];
  for (let run = 0; run < runs; run++) {
    if (baseline !== undefined) {
      const t0 = performance.now();
      const other = await baseline({ prefix });
      baselineTimes.push(performance.now() - t0);
      if (other.length !== seen.length && seen.length > 0) throw new Error(`baseline list saw ${other.length} locks`);
    }
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    seen = await list({ prefix });
    listTimes.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  const verified = seen.filter((h) => h.verified).length;
  if (seen.length !== HOLDERS * Math.ceil(locks / HOLDERS)) throw new Error(`list saw ${seen.length} locks`);

  const scanTimes = [];
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    await pidsHoldingInode(1);
    scanTimes.push(performance.now() - t0);
  }

  let cliMedian;
  let cliFailure;
  if (existsSync(cli)) {
    const cliTimes = [];
    try {
      for (let run = 0; run < runs; run++) {
        const t0 = performance.now();
        const out = execFileSync(process.execPath, [cli, 'list', '--prefix', prefix, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
        cliTimes.push(performance.now() - t0);
        if (!out.includes('lock-0-0')) throw new Error('onlyone list did not show the locks');
      }
      cliMedian = median(cliTimes);
    } catch (error) {
      cliFailure = String(error.stderr || error.message).trim().split('\n')[0];
    }
  }

  console.log(`node ${process.version}, ${seen.length} locks held by ${HOLDERS} processes, ${fdsOnMachine} open fds on the machine`);
  console.log(`list() median of ${runs}: ${median(listTimes).toFixed(0)} ms (min ${Math.min(...listTimes).toFixed(0)}, max ${Math.max(...listTimes).toFixed(0)}); CPU of the listing process: median ${median(cpuTimes).toFixed(0)} ms; ${verified}/${seen.length} verified`);
  console.log(`load average while measuring: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} CPUs`);
  if (baseline !== undefined) console.log(`baseline list() (${process.env['BASELINE_DIST']}), interleaved: median ${median(baselineTimes).toFixed(0)} ms (min ${Math.min(...baselineTimes).toFixed(0)}, max ${Math.max(...baselineTimes).toFixed(0)})`);
  if (cliMedian !== undefined) console.log(`onlyone list --json median of ${runs}: ${cliMedian.toFixed(0)} ms (process start included)`);
  else console.log(`onlyone list: not measured (${cliFailure ?? 'no CLI in dist/ yet'})`);
  console.log(`anchor: one full /proc/*/fd scan (what a scan-based lookup pays per lock): median ${median(scanTimes).toFixed(0)} ms`);
} finally {
  for (const { child } of children) child.kill('SIGKILL');
}
