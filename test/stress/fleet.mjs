#!/usr/bin/env node
// The fleet test (issue 16): 5 processes act as 5 hosts, each with its clock shifted by up to ±2 s through
// libfaketime, firing `onlyone run --once-per 5s NAME -- job` at boundary + a spread of up to 3 s of its own clock,
// for 20 consecutive 5 s windows. The 200 ms job must run exactly once per window, on lockfile, postgres and etcd.
//
//   node test/stress/fleet.mjs [--backend lockfile|postgres|etcd|all] [--windows 20] [--hosts 5] [--self-check]
//
// --self-check also runs the same fleet without --once-per, which must show several runs per window: the checker
// proves it can see the failure it is there to catch (test/fleet-check.test.mjs feeds it made-up logs as well).
// The checker (stress/fleet-check.mjs) also requires every window onlyone gave a job (ONLYONE_WINDOW) to contain the
// real instant of its lock, so windows cut on a skewed host clock fail. It needs a machine that starts onlyone within
// a second or so: on one so loaded that no window is decided by an attempt inside it, it says so and fails.
// Ends with a PASSED or FAILED line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { etcdUnavailable, startEtcd } from '../etcd-server.mjs';
import { postgresUnavailable, startPostgres } from '../postgres-server.mjs';
import { checkFleet } from './fleet-check.mjs';

const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const host = fileURLToPath(new URL('../fixtures/fleet-host.mjs', import.meta.url));

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'all' },
    windows: { type: 'string', default: '20' },
    hosts: { type: 'string', default: '5' },
    'period-ms': { type: 'string', default: '5000' },
    'self-check': { type: 'boolean', default: false },
  },
});
const windows = Number(values.windows);
const hosts = Number(values.hosts);
const periodMs = Number(values['period-ms']);
const MAX_SKEW_MS = 2000;
const MAX_SPREAD_MS = 3000;
/** Firings closer than this to a window boundary (real time) are re-drawn: a run must not straddle the checker's boundary. */
const MARGIN_MS = 500;

/**
 * Draws each host's clock skew (±2 s) and start spread (0–3 s). A host fires for window k at real time
 * t0 + k·period + spread − skew, so firings before the boundary land in the previous window. Draws that fire within
 * MARGIN_MS of a boundary are redrawn, and at least one host must fire inside its own window.
 */
function drawHosts() {
  for (;;) {
    const drawn = Array.from({ length: hosts }, (_, i) => ({
      host: `host${i + 1}`,
      skewMs: Math.round((Math.random() * 2 - 1) * MAX_SKEW_MS),
      spreadMs: Math.round(Math.random() * MAX_SPREAD_MS),
    }));
    const offsets = drawn.map((h) => h.spreadMs - h.skewMs);
    const nearBoundary = offsets.some((o) => {
      const within = ((o % periodMs) + periodMs) % periodMs;
      return within < MARGIN_MS || within > periodMs - MARGIN_MS;
    });
    if (!nearBoundary && offsets.some((o) => o > 0 && o < periodMs)) return drawn;
  }
}

function fakeTime(skewMs) {
  return `${skewMs >= 0 ? '+' : '-'}${(Math.abs(skewMs) / 1000).toFixed(3)}s`;
}

/** Starts one fleet (every host) against one backend: `ready` once every host is up, `start(t0)`, then `done`. */
function startFleet({ label, backendArgs, oncePer, drawn, dir }) {
  const name = `fleet-${label}-${randomBytes(4).toString('hex')}`;
  const log = join(dir, `${label}.log`);
  writeFileSync(log, '');
  const args = [...backendArgs, ...(oncePer ? ['--once-per', `${periodMs / 1000}s`] : [])];
  const children = drawn.map(({ host: id, skewMs, spreadMs }) => {
    const config = { cli, args, name, periodMs, windows, spreadMs, log, host: id };
    const child = spawn(process.execPath, [host, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, LD_PRELOAD: FAKETIME, FAKETIME: fakeTime(skewMs), FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    let out = '';
    let onClock;
    const up = new Promise((resolve) => (onClock = resolve));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) onClock();
    });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, events: out.split('\n').filter(Boolean).map((line) => JSON.parse(line)) })));
    return { child, up, exited };
  });
  return {
    ready: Promise.all(children.map((c) => c.up)),
    start: (t0) => children.forEach((c) => c.child.stdin.end(`${t0}\n`)),
    done: Promise.all(children.map((c) => c.exited)).then((results) => ({ label, oncePer, log, results })),
  };
}

/** Starts `fleets` together on the next boundaries, waits for them and prints each verdict; true if one failed. */
async function runFleets(fleets, { drawn, dir, monoToReal }) {
  const started = fleets.map((fleet) => startFleet({ ...fleet, drawn, dir }));
  await Promise.all(started.map((fleet) => fleet.ready));
  // Real-time origin: the first boundary at least MAX_SKEW_MS + 1 s away, so even a host whose clock is ahead
  // fires its first (early) run after it has the origin.
  const t0 = Math.ceil((Date.now() + MAX_SKEW_MS + 1000) / periodMs) * periodMs;
  console.log(`fleet: ${hosts} hosts, ${windows} windows of ${periodMs} ms from ${new Date(t0).toISOString()}: ${drawn.map((h) => `${h.host} clock ${fakeTime(h.skewMs)} spread ${h.spreadMs} ms`).join('; ')}`);
  for (const fleet of started) fleet.start(t0);
  const done = await Promise.all(started.map((fleet) => fleet.done));
  let failed = false;
  for (const fleet of done) {
    const verdict = checkFleet({ ...fleet, t0, periodMs, windows, drawn, monoToReal, lines: readFileSync(fleet.log, 'utf8') });
    console.log(`${fleet.label}: ${verdict.summary}`);
    for (const problem of verdict.problems) console.log(`  ${problem}`);
    const ok = fleet.oncePer ? verdict.problems.length === 0 : verdict.problems.length === 0 && verdict.windowsWithSeveralRuns > 0;
    if (!fleet.oncePer) console.log(`  self-check: without --once-per ${verdict.windowsWithSeveralRuns} of ${windows} windows ran the job more than once (${ok ? 'caught' : 'NOT caught'})`);
    if (!ok) failed = true;
  }
  return failed;
}

async function main() {
  const backends = values.backend === 'all' ? ['lockfile', 'postgres', 'etcd'] : [values.backend];
  let server;
  let etcd;
  if (backends.includes('postgres')) {
    if (postgresUnavailable()) throw new Error('the postgres fleet needs PostgreSQL');
    server = await startPostgres();
  }
  if (backends.includes('etcd')) {
    if (etcdUnavailable()) throw new Error('the etcd fleet needs etcd');
    etcd = await startEtcd();
  }
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-fleet-'));
  const drawn = drawHosts();
  // Maps CLOCK_MONOTONIC (never faked here) to this process's real wall clock, to measure each host's skew.
  const monoToReal = Date.now() - Number(process.hrtime.bigint() / 1_000_000n);
  // One backend at a time (with its self-check beside it): three backends' fleets at once put 30 processes on the
  // same boundaries, and on two cores their start-up then decides more than onlyone does.
  let failed = false;
  try {
    for (const backend of backends) {
      const backendArgs = backend === 'postgres' ? ['--backend', server.url] : backend === 'etcd' ? ['--backend', etcd.url] : ['--backend', 'lockfile', '--dir', join(dir, 'locks')];
      const fleets = [{ label: backend, backendArgs, oncePer: true }];
      if (values['self-check']) fleets.push({ label: `${backend}-without-once-per`, backendArgs, oncePer: false });
      if (await runFleets(fleets, { drawn, dir, monoToReal })) failed = true;
    }
  } finally {
    await server?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failed ? 'fleet: FAILED' : 'fleet: PASSED');
  process.exitCode = failed ? 1 : 0;
}

await main();
