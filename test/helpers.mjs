// Shared helpers for tests: random lock names and real holder processes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const fixture = (file) => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));
export const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Opens /dev/null until this process is out of descriptors (EMFILE); returns the descriptors it took. */
export function exhaustDescriptors() {
  const taken = [];
  for (;;) {
    try {
      taken.push(openSync('/dev/null', 'r'));
    } catch {
      return taken;
    }
  }
}

/** A lock name no other test uses. */
export function lockName(tag = 't') {
  return `test-${tag}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Reads newline-delimited JSON events from a child's stdout. */
export function jsonLines(stream) {
  const queue = [];
  const waiters = [];
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let event;
      try { event = JSON.parse(line); } catch { continue; }
      const waiter = waiters.shift();
      if (waiter) waiter(event); else queue.push(event);
    }
  });
  return {
    next(timeoutMs = 10_000) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((event) => { clearTimeout(timer); resolve(event); });
      });
    },
  };
}

/**
 * Starts test/fixtures/holder.mjs: it acquires `name` with `options` and reports events as JSON lines.
 * `mode` picks what it does once it holds the lock (see the fixture).
 */
export function startHolder(name, { options = {}, mode = 'hold', execPath = process.execPath, env } = {}) {
  const child = spawn(execPath, [fixture('holder.mjs'), name, JSON.stringify(options), mode], {
    // A crash is expected to print its stack; keep it out of the test report.
    stdio: ['pipe', 'pipe', mode === 'crash' ? 'ignore' : 'inherit'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const events = jsonLines(child.stdout);
  const exited = once(child, 'exit');
  return { child, events, exited, pid: child.pid };
}

/** Resolves with the child's exit code and signal. */
export async function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = await once(child, 'exit');
  return { code, signal };
}

/** Number of open descriptors of a process. */
export function fdCount(pid = process.pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Backends the shared core suite runs against. Each backend adds itself here. */
export const BACKENDS = ['abstract', 'lockfile'];

let lockfileDir;
/** One private lock directory per test process (lock names are unique, so tests can share it). */
function lockfileTestDir() {
  if (lockfileDir === undefined) {
    lockfileDir = mkdtempSync(join(tmpdir(), 'oo-core-'));
    process.once('exit', () => rmSync(lockfileDir, { recursive: true, force: true }));
  }
  return lockfileDir;
}

/** Per-backend options every acquire/status call in the core suite passes. */
export function backendOptions(kind) {
  switch (kind) {
    case 'abstract':
      return {};
    case 'lockfile':
      return { backend: 'lockfile', dir: lockfileTestDir() };
    default:
      throw new Error(`no test options for backend ${kind}`);
  }
}

/** Monotonic nanoseconds, comparable across processes on Linux (CLOCK_MONOTONIC). */
export const now = () => process.hrtime.bigint();

/** True while a process with this pid exists. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while the process runs: it exists and is not a zombie waiting for its parent to reap it. */
export function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/u.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * A raw protocol client for holder tests: connects to `address` and collects every frame it receives.
 * `frame(n)` waits for the n-th frame, `frame(predicate)` for the first frame that matches.
 * With `allowHalfOpen`, the holder's hang-up counts as closed as soon as it arrives ('end').
 */
export function rawClient(address, { allowHalfOpen = false } = {}) {
  const socket = net.connect({ path: address, allowHalfOpen });
  socket.on('error', () => {});
  const frames = [];
  const waiters = [];
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      frames.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
      for (const waiter of waiters.splice(0)) waiter();
    }
  });
  // Once closed no frame can come: frame() fails then instead of waiting out its deadline.
  let isClosed = false;
  const closed = new Promise((resolve) => {
    socket.once('close', resolve);
    if (allowHalfOpen) socket.once('end', resolve);
  }).then(() => {
    isClosed = true;
  });
  const frame = async (which, timeoutMs = 15_000) => {
    const find = typeof which === 'number' ? () => frames[which] : () => frames.find(which);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (isClosed || Date.now() > deadline) throw new Error(`no such frame${isClosed ? ' (connection closed)' : ''}; got ${JSON.stringify(frames).slice(0, 500)}`);
      await Promise.race([new Promise((resolve) => waiters.push(resolve)), closed, delay(50)]);
    }
  };
  return { socket, frames, frame, closed, write: (text) => socket.write(text) };
}
