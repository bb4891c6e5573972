// The fuzz target: holds NAME with an echoing onMessage, and answers commands on stdin with JSON lines:
// "mem" -> memory after a full GC, "fds" -> open descriptor count. Run with --expose-gc.
import { readdirSync } from 'node:fs';
import { acquire } from '../../dist/index.js';

const name = process.argv[2];
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const lock = await acquire(name, { ref: true, onMessage: (message) => ({ echo: message.data ?? null, argv: message.argv }) });
emit({ event: 'held', pid: process.pid, address: lock.address });
process.stdin.setEncoding('utf8');
let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk;
  for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
    const command = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (command === 'mem') {
      globalThis.gc?.();
      const { heapUsed, rss } = process.memoryUsage();
      emit({ event: 'mem', heapUsed, rss });
    } else if (command === 'fds') {
      emit({ event: 'fds', count: readdirSync('/proc/self/fd').length });
    }
  }
});
process.stdin.on('end', async () => {
  await lock.release();
  process.exit(0);
});
