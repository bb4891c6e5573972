// `npm run test:fuzz`: throws garbage, truncated, oversized, invalid UTF-8, deeply nested and out-of-order
// frames, slowloris connections and a flood of connections at a live holder process, then checks that it
// still answers hello, ping and messages, that its descriptor count is back at baseline, and that its
// heap is bounded.   --seed N (FUZZ_SEED)   --short (CI)   --size N (random cases per attack)
//   --flood N (connections in the flood, default 5000)   --only NAME (one attack)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { attacks } from './attacks.mjs';
import { connect } from './client.mjs';
import { rng as makeRng } from './rng.mjs';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: process.env.FUZZ_SEED ?? String(Date.now() % 2 ** 31) },
    short: { type: 'boolean', default: false },
    size: { type: 'string' },
    flood: { type: 'string', default: '5000' },
    only: { type: 'string' },
  },
});
const seed = Number(values.seed);
const size = Number(values.size ?? (values.short ? 100 : 1000));
const floodSize = Number(values.flood);
const log = (text) => process.stdout.write(`fuzz: ${text}\n`);
const HEAP_SLACK = 16 * 1024 * 1024;

// The flood needs a descriptor per connection in this process; raise the limit once by re-executing.
const softLimit = Number(/^Max open files\s+(\d+)/mu.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
if (softLimit < floodSize + 1000 && process.env.ONLYONE_FUZZ_REEXEC === undefined) {
  const limit = floodSize + 4096;
  const child = spawnSync('prlimit', [`--nofile=${limit}:${limit}`, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ONLYONE_FUZZ_REEXEC: '1' } });
  if (child.error === undefined && child.status !== null) process.exit(child.status);
  throw new Error(`open-file limit ${softLimit} is too low for a flood of ${floodSize} and prlimit failed: ${child.error?.message ?? child.signal}`);
}

const name = `fuzz-${process.pid}-${randomBytes(4).toString('hex')}`;
const holder = spawn(process.execPath, ['--expose-gc', fileURLToPath(new URL('holder.mjs', import.meta.url)), name], { stdio: ['pipe', 'pipe', 'pipe'] });
let stderr = '';
holder.stderr.on('data', (chunk) => { stderr += chunk; });
const events = [];
const waiters = [];
let buffer = '';
holder.stdout.setEncoding('utf8');
holder.stdout.on('data', (chunk) => {
  buffer += chunk;
  for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
    events.push(JSON.parse(buffer.slice(0, nl)));
    buffer = buffer.slice(nl + 1);
    waiters.shift()?.();
  }
});
async function nextEvent(kind) {
  for (;;) {
    const i = events.findIndex((e) => e.event === kind);
    if (i !== -1) return events.splice(i, 1)[0];
    if (holder.exitCode !== null || holder.signalCode !== null) throw new Error(`holder died (${holder.exitCode ?? holder.signalCode}): ${stderr}`);
    await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 1000).unref(); });
  }
}
const ask = (command) => { holder.stdin.write(`${command}\n`); return nextEvent(command); };

/** The holder answers hello, ping and an echoed message on a fresh connection. */
async function serves(address, token) {
  const c = await connect(address);
  try {
    const hello = await c.frame((f) => f.type === 'hello', 5000);
    if (hello?.name !== name || hello.pid !== holder.pid) throw new Error(`bad or missing hello: ${JSON.stringify(hello)}`);
    await c.write('{"type":"ping","id":"p"}\n');
    if ((await c.frame((f) => f.type === 'pong' && f.id === 'p', 5000)) === undefined) throw new Error('no pong');
    await c.write(`${JSON.stringify({ type: 'message', id: 'm', argv: ['fuzz'], cwd: '/', data: { token } })}\n`);
    const reply = await c.frame((f) => f.id === 'm', 5000);
    if (reply?.type !== 'reply' || reply.data?.echo?.token !== token) throw new Error(`no echoed reply: ${JSON.stringify(reply)}`);
  } finally {
    c.close();
    await c.closed;
  }
}

async function settledFds(baseline) {
  const deadline = Date.now() + 15_000;
  let count;
  do {
    count = (await ask('fds')).count;
    if (count <= baseline) return count;
    await new Promise((resolve) => setTimeout(resolve, 250));
  } while (Date.now() < deadline);
  return count;
}

const problems = [];
try {
  const { address } = await nextEvent('held');
  log(`seed ${seed}, ${size} cases per attack, flood of ${floodSize}; holder pid ${holder.pid}`);
  await serves(address, 'before');
  const baseFds = (await ask('fds')).count;
  const baseMem = await ask('mem');
  const rng = makeRng(seed);
  for (const [attack, run] of Object.entries(attacks)) {
    if (values.only !== undefined && values.only !== attack) continue;
    const started = Date.now();
    try {
      const note = await run(address, rng, size, { floodSize });
      log(`${attack}: ${note} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      problems.push(`${attack}: ${error.message}`);
      log(`${attack}: FAIL ${error.message}`);
    }
    if (holder.exitCode !== null || holder.signalCode !== null) break;
  }
  await serves(address, 'after');
  log('holder still answers hello, ping and messages');
  const fds = await settledFds(baseFds);
  log(`descriptors: ${baseFds} before, ${fds} after`);
  if (fds > baseFds) problems.push(`descriptor leak: ${baseFds} before, ${fds} after`);
  const mem = await ask('mem');
  log(`heap after GC: ${(baseMem.heapUsed / 2 ** 20).toFixed(1)} MiB before, ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB after; rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB`);
  if (mem.heapUsed > baseMem.heapUsed + HEAP_SLACK) problems.push(`heap grew from ${baseMem.heapUsed} to ${mem.heapUsed} bytes`);
} catch (error) {
  problems.push(error.message);
}
if (holder.exitCode !== null || holder.signalCode !== null) problems.push(`holder died (${holder.exitCode ?? holder.signalCode})`);
holder.stdin.end();
await new Promise((resolve) => { if (holder.exitCode !== null || holder.signalCode !== null) resolve(); else holder.once('exit', resolve); });
if (stderr.trim() !== '') problems.push(`holder wrote to stderr: ${stderr.trim().slice(0, 1000)}`);
if (problems.length > 0) {
  for (const p of problems) log(`FAIL ${p}`);
  log(`FAILED (reproduce with --seed ${seed})`);
  process.exit(1);
}
log(`PASSED with seed ${seed}`);
