// Child processes for the benchmarks: JSON-line events on stdout, clean shutdown.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const actor = (file) => fileURLToPath(new URL(`../actors/${file}`, import.meta.url));

/** Spawns a process whose stdout carries one JSON object per line; `next()` resolves the next one. */
export function spawnJson(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], ...options });
  const queue = [];
  const waiters = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let event;
      try { event = JSON.parse(line); } catch { event = { raw: line }; }
      const waiter = waiters.shift();
      if (waiter) waiter(event); else queue.push(event);
    }
  });
  let closed = false;
  child.on('close', (code, signal) => {
    closed = true;
    for (const waiter of waiters.splice(0)) waiter({ event: 'exit', code, signal });
  });
  const exited = once(child, 'exit');
  child.stdin.on('error', () => {});
  return {
    child,
    exited,
    next(timeoutMs = 30_000) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      if (closed) return Promise.resolve({ event: 'exit', code: child.exitCode, signal: child.signalCode });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')}: no output within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((event) => { clearTimeout(timer); resolve(event); });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Waits for the next event and checks it is `expected`. */
export async function expectEvent(proc, expected, timeoutMs) {
  const event = await proc.next(timeoutMs);
  if (event.event !== expected) throw new Error(`expected "${expected}", got ${JSON.stringify(event)}`);
  return event;
}
