// Start-up cost of `onlyone run NAME -- true`, against bare `node -e 0` and `flock -n FILE true`, in one run.
// Runs are interleaved (one of each per round) so that machine noise hits every contender alike.
// Usage: npm run bench:cli [-- ROUNDS]   (default 60 rounds, at least 30)
// Reports min, median and p90 wall time per command, and ratios of medians (and of minima, which suffer least
// from a loaded machine) against `node -e 0`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const rounds = quick ? 10 : Math.max(30, Number(process.argv[2] ?? 60) || 60);
const loadBefore = loadavg()[0];
const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const floor = fileURLToPath(new URL('./actors/cli-floor.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'onlyone-bench-'));
const lockFile = join(dir, 'flock');

const contenders = {
  'node -e 0': () => [process.execPath, ['-e', '0']],
  'onlyone run NAME -- true': () => [process.execPath, [main, 'run', `bench-${randomBytes(6).toString('hex')}`, '--', 'true']],
  'flock -n FILE true': () => ['flock', ['-n', lockFile, 'true']],
  // No wrapper left while the command runs, but koffi is loaded to hand the lock's descriptor over.
  'onlyone run --exec NAME -- true': () => [process.execPath, [main, 'run', '--exec', `bench-${randomBytes(6).toString('hex')}`, '--', 'true']],
  // What any Node wrapper must do (parseArgs, abstract listen, spawn with fd 3): the floor for the row above.
  'floor: parseArgs + listen + spawn': () => [process.execPath, [floor, `bench-${randomBytes(6).toString('hex')}`, '--', 'true']],
};

const times = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
const order = Object.keys(contenders);
for (let round = 0; round < rounds + 3; round++) {
  // Rotate the order each round so no contender always runs right after another.
  const turn = order.map((_, i) => order[(i + round) % order.length]);
  for (const name of turn) {
    const [file, args] = contenders[name]();
    const start = process.hrtime.bigint();
    const result = spawnSync(file, args, { stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${name} exited with ${result.status ?? result.signal}`);
    if (round >= 3) times[name].push(ms); // the first rounds warm the page cache
  }
}
rmSync(dir, { recursive: true, force: true });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const base = times['node -e 0'].slice().sort((a, b) => a - b);
const baseMedian = quantile(base, 0.5);
console.log(`${new Date().toISOString()}  Node ${process.version}  ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}  ${rounds} rounds, interleaved  load ${loadBefore.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`);
console.log('| command | min ms | median ms | p90 ms | median vs `node -e 0` | min vs `node -e 0` |');
console.log('|---|---:|---:|---:|---:|---:|');
const baseMin = base[0];
const ratio = (value, reference) => {
  const r = value / reference;
  return `${r.toFixed(2)}× (${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %)`;
};
for (const name of order) {
  const sorted = times[name].slice().sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const isBase = name === 'node -e 0';
  console.log(`| \`${name}\` | ${sorted[0].toFixed(1)} | ${median.toFixed(1)} | ${quantile(sorted, 0.9).toFixed(1)} | ${isBase ? '1.00×' : ratio(median, baseMedian)} | ${isBase ? '1.00×' : ratio(sorted[0], baseMin)} |`);
}
