// What identity checks cost, and proof that plain acquire never loads koffi.
//   node bench/identity.mjs
// Anchors in the same run: a raw net listen+close on an abstract name, and `node -e 0`.
// BENCH_DIST=/path/to/other/dist/index.js runs the same measures against another build (e.g. one without
// identity checks) for comparison.
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
const dist = process.env['BENCH_DIST'] ?? fileURLToPath(new URL('../dist/index.js', import.meta.url));
const { acquire, status } = await import(dist);
const self = fileURLToPath(import.meta.url);
const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
const us = (ms) => `${(ms * 1000).toFixed(0)} µs`;
const koffiLoaded = () => process.report.getReport().sharedObjects.some((path) => /koffi/iu.test(path));

async function timeEach(count, fn) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  return median(times);
}

function startHolder(name) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const { acquire } = await import(${JSON.stringify(dist)}); await acquire(${JSON.stringify(name)}); console.log('ready'); setInterval(() => {}, 1e9);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout.once('data', () => resolve(child)));
}

/** Busy-path costs in this process: LockBusyError with a verified holder, and status(). */
async function busyCosts() {
  const name = `bench-identity-${process.pid}`;
  const holder = await startHolder(name);
  try {
    await acquire(name).catch(() => {});
    const busy = await timeEach(300, () => acquire(name).then(() => { throw new Error('not busy'); }, (error) => { if (error.code !== 'ERR_LOCK_BUSY' || error.holder === undefined) throw error; }));
    const seen = await timeEach(300, async () => { if ((await status(name)) === undefined) throw new Error('status says free'); });
    return { busy, status: seen };
  } finally {
    holder.kill('SIGKILL');
  }
}

if (process.argv[2] === 'busy') {
  process.stdout.write(JSON.stringify(await busyCosts()));
  process.exit(0);
}

const rawAddress = `\0bench-raw-${process.pid}`;
const raw = await timeEach(2000, () => new Promise((resolve) => {
  const server = net.createServer();
  server.listen({ path: rawAddress, exclusive: true }, () => server.close(resolve));
}));
const free = await timeEach(2000, async (i) => {
  const lock = await acquire(`bench-free-${process.pid}-${i % 8}`);
  await lock.release();
});
const loadedAfterAcquire = koffiLoaded();
const withKoffi = await busyCosts();
const viaProc = JSON.parse(execFileSync(process.execPath, [self, 'busy'], { env: { ...process.env, ONLYONE_NO_KOFFI: '1' }, encoding: 'utf8' }));

// Fresh processes: start + acquire + exit, against bare node, and against start + acquire + koffi import.
const run = (code) => () => execFileSync(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore' });
const acquireCode = `const { acquire } = await import(${JSON.stringify(dist)}); await acquire('bench-start-' + process.pid);`;
const checkCode = `${acquireCode} const loaded = process.report.getReport().sharedObjects.some((p) => /koffi/i.test(p)); process.stdout.write(String(loaded));`;
// Interleaved, so that a change in machine load hits the three variants alike.
const variants = [run('0'), run(acquireCode), run(`${acquireCode} await import('koffi');`)];
const samples = variants.map(() => []);
for (let i = 0; i < 21; i++) {
  variants.forEach((variant, v) => {
    const t0 = performance.now();
    variant();
    samples[v].push(performance.now() - t0);
  });
}
const [bare, started, startedKoffi] = samples.map(median);
const childLoaded = execFileSync(process.execPath, ['--input-type=module', '-e', checkCode], { encoding: 'utf8' });

console.log(`node ${process.version}, ${dist}`);
console.log(`anchor: raw net listen+close: median ${us(raw)}`);
console.log(`acquire+release of a free lock (no identity check): median ${us(free)}; koffi loaded afterwards: ${loadedAfterAcquire}`);
console.log(`busy acquire, LockBusyError with holder info (this build: SO_PEERCRED + SO_PEERPIDFD via koffi): median ${us(withKoffi.busy)}`);
console.log(`busy acquire with ONLYONE_NO_KOFFI=1 (this build: /proc/net/unix + /proc/PID/fd): median ${us(viaProc.busy)}`);
console.log(`status(): ${us(withKoffi.status)}, with ONLYONE_NO_KOFFI=1 ${us(viaProc.status)}`);
console.log(`process start+acquire+exit: median ${bare.toFixed(1)} ms bare node, ${started.toFixed(1)} ms with acquire, ${startedKoffi.toFixed(1)} ms if koffi were imported too`);
console.log(`koffi loaded in a fresh process after acquire: ${childLoaded}`);
