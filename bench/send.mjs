// send() -> reply round trip, next to bare `net` round trips on an abstract socket, in the same run.
//   node bench/send.mjs [--iterations N] [--json]
// The holder (onlyone lock + bare echo server) runs in a child process; this process is the sender.
// Modes, interleaved so that machine noise hits all of them alike:
//   send            send(name, data): connect, request, reply, close (what a second instance does)
//   net-connect     bare net: connect, write one line, read one line, close (the same socket work)
//   net-persistent  bare net: one line out, one line back on an already open connection (lower bound)
// Then the same send and net-connect with a 1 MiB payload (the default cap), fewer times.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { send } from '../dist/index.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '3000' }, json: { type: 'boolean', default: false } } });
const iterations = Number(values.iterations);
const warmup = Math.min(300, Math.ceil(iterations / 10));
const name = `bench-send-${process.pid}-${randomBytes(4).toString('hex')}`;
const bareBody = `onlyone-bench/bare-${process.pid}-${randomBytes(4).toString('hex')}`;
// Padded to the full sun_path like a lock address, so both sockets cost the kernel the same to look up.
const bareAddress = `\0${bareBody}${'\0'.repeat(107 - bareBody.length)}`;
const payload = { argv: ['/usr/bin/app', 'file.txt'], n: 1 };

const holder = spawn(process.execPath, [fileURLToPath(new URL('./send-holder.mjs', import.meta.url)), name, bareBody], { stdio: ['pipe', 'pipe', 'inherit'] });
holder.stdout.setEncoding('utf8');
await once(holder.stdout, 'data');

function lineClient(socket) {
  // Buffers chunks and looks for the newline only in the newest one, as the library's frame reader does.
  let chunks = [];
  let waiter;
  socket.on('data', (chunk) => {
    const nl = chunk.indexOf(10);
    if (nl === -1) {
      chunks.push(chunk);
      return;
    }
    const line = Buffer.concat([...chunks, chunk.subarray(0, nl)]).toString('utf8');
    chunks = [chunk.subarray(nl + 1)];
    const w = waiter;
    waiter = undefined;
    w?.(line);
  });
  return (text) => new Promise((resolve) => { waiter = resolve; socket.write(text); });
}

function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: bareAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const persistentSocket = await connect();
const persistent = lineClient(persistentSocket);
const line = `${JSON.stringify({ type: 'message', id: 1, argv: payload.argv, cwd: process.cwd(), data: payload })}\n`;

const modes = {
  send: async () => { await send(name, payload, { argv: payload.argv }); },
  'net-connect': async () => {
    const socket = await connect();
    const ask = lineClient(socket);
    JSON.parse(await ask(line));
    socket.destroy();
  },
  'net-persistent': async () => { JSON.parse(await persistent(line)); },
};

const samples = Object.fromEntries(Object.keys(modes).map((mode) => [mode, []]));
for (let i = 0; i < warmup + iterations; i++) {
  for (const [mode, run] of Object.entries(modes)) {
    const start = process.hrtime.bigint();
    await run();
    const elapsed = Number(process.hrtime.bigint() - start) / 1000;
    if (i >= warmup) samples[mode].push(elapsed);
  }
}
const big = { blob: 'x'.repeat(1024 * 1024 - 20) };
const bigLine = `${JSON.stringify({ type: 'message', id: 1, argv: payload.argv, cwd: process.cwd(), data: big })}\n`;
const bigModes = {
  'send 1 MiB': async () => { await send(name, big, { argv: payload.argv }); },
  'net-connect 1 MiB': async () => {
    const socket = await connect();
    const ask = lineClient(socket);
    JSON.parse(await ask(bigLine));
    socket.destroy();
  },
};
const bigIterations = Math.max(20, Math.floor(iterations / 15));
for (const mode of Object.keys(bigModes)) samples[mode] = [];
for (let i = 0; i < 10 + bigIterations; i++) {
  for (const [mode, run] of Object.entries(bigModes)) {
    const start = process.hrtime.bigint();
    await run();
    const elapsed = Number(process.hrtime.bigint() - start) / 1000;
    if (i >= 10) samples[mode].push(elapsed);
  }
}
persistentSocket.destroy();
holder.stdin.end();
await once(holder, 'exit');

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const results = Object.entries(samples).map(([mode, list]) => {
  const sorted = list.slice().sort((a, b) => a - b);
  return { mode, n: sorted.length, medianUs: quantile(sorted, 0.5), p99Us: quantile(sorted, 0.99) };
});
const baseOf = (mode) => results.find((r) => r.mode === (mode.endsWith('1 MiB') ? 'net-connect 1 MiB' : 'net-connect'));
const meta = { node: process.version, iterations, bigIterations, date: new Date().toISOString(), payloadBytes: Buffer.byteLength(JSON.stringify(payload)) };
if (values.json) {
  process.stdout.write(`${JSON.stringify({ meta, results }, null, 2)}\n`);
} else {
  console.log(`send -> reply round trip, ${iterations} iterations each (1 MiB: ${bigIterations}) after warm-up, Node ${process.version}`);
  console.log('| mode | median (µs) | p99 (µs) | median vs net-connect |');
  console.log('|---|---|---|---|');
  for (const r of results) console.log(`| ${r.mode} | ${r.medianUs.toFixed(0)} | ${r.p99Us.toFixed(0)} | ${(r.medianUs / baseOf(r.mode).medianUs).toFixed(2)}× |`);
}
