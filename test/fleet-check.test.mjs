// The fleet checker must catch what it claims to catch. The fleet itself (real processes, 5 s windows, libfaketime)
// is timing-bound, so it runs as a stress test (`npm run test:fleet -- --self-check`, in CI); here its checker gets
// made-up logs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFleet } from './stress/fleet-check.mjs';

const t0 = 1_800_000_000_000;
const periodMs = 5000;
const monoToReal = t0 - 1_000_000; // mono ms = real ms - monoToReal
const mono = (realMs) => String(BigInt(realMs - monoToReal) * 1_000_000n);
const ns = (realMs) => String(BigInt(realMs) * 1_000_000n);
const drawn = [{ host: 'h1', skewMs: 1500, spreadMs: 0 }, { host: 'h2', skewMs: -1000, spreadMs: 0 }];
const clocks = drawn.map((h) => ({ event: 'clock', host: h.host, clock: t0 + h.skewMs, mono: mono(t0) }));

/** A firing of `host` for window k, spawned at `at` (real ms), whose onlyone exited soon after with `code`. */
function firing(host, k, at, code, stderr = '') {
  return { event: 'run', host, window: k, lateMs: 0, spawnedMono: mono(at), exitedMono: mono(at + 40 + (code === 0 ? 200 : 0)), code, signal: null, stderr };
}

/** A job line pair: started 20 ms after `at`, with the window onlyone gave it. */
function job(host, k, at, window) {
  return `${host} ${k} start ${ns(at + 20)} ${window === undefined ? 'none' : new Date(window).toISOString()}\n${host} ${k} end ${ns(at + 220)}\n`;
}

function check({ oncePer, firings, lines }) {
  const results = drawn.map((h, i) => ({ code: 0, events: [clocks[i], ...firings.filter((f) => f.host === h.host)] }));
  return checkFleet({ oncePer, t0, periodMs, windows: 2, drawn, monoToReal, results, lines });
}

const already = 'onlyone: x already ran in this window: started 00:00:01 UTC on vm (pid 1), exit 0';

test('fleet checker: one run per window passes', () => {
  const verdict = check({
    oncePer: true,
    firings: [firing('h1', 0, t0 + 1000, 0), firing('h2', 0, t0 + 2000, 75, already), firing('h1', 1, t0 + 6000, 0), firing('h2', 1, t0 + 7000, 75, already)],
    lines: job('h1', 0, t0 + 1000, t0) + job('h1', 1, t0 + 6000, t0 + 5000),
  });
  assert.deepEqual(verdict.problems, []);
});

test('fleet checker: two runs given the same window, or placed in one real window, are caught', () => {
  const verdict = check({
    oncePer: true,
    firings: [firing('h1', 0, t0 + 1000, 0), firing('h2', 0, t0 + 2000, 0), firing('h1', 1, t0 + 6000, 0)],
    lines: job('h1', 0, t0 + 1000, t0) + job('h2', 0, t0 + 2000, t0) + job('h1', 1, t0 + 6000, t0 + 5000),
  });
  assert.ok(verdict.problems.some((p) => /given to two runs/u.test(p)), verdict.problems.join('\n'));
  assert.ok(verdict.problems.some((p) => /window 0 .*: 2 runs/u.test(p)), verdict.problems.join('\n'));
});

test('fleet checker: a window cut on a skewed host clock is caught', () => {
  // h1's clock is 1.5 s ahead: at real t0 + 4000 it thinks it is window 1.
  const verdict = check({
    oncePer: true,
    firings: [firing('h1', 0, t0 + 4000, 0), firing('h2', 1, t0 + 6000, 0)],
    lines: job('h1', 0, t0 + 4000, t0 + 5000) + job('h2', 1, t0 + 6000, t0 + 5000),
  });
  assert.ok(verdict.problems.some((p) => /does not contain the lock's real time/u.test(p)), verdict.problems.join('\n'));
});

test('fleet checker: a window decided by an attempt but without a run is caught; without --once-per, several runs are counted', () => {
  const empty = check({ oncePer: true, firings: [firing('h1', 0, t0 + 1000, 75, already), firing('h1', 1, t0 + 6000, 0)], lines: job('h1', 1, t0 + 6000, t0 + 5000) });
  assert.ok(empty.problems.some((p) => /window 0 .*: 0 runs/u.test(p)), empty.problems.join('\n'));
  const plain = check({
    oncePer: false,
    firings: [firing('h1', 0, t0 + 1000, 0), firing('h2', 0, t0 + 2000, 0)],
    lines: job('h1', 0, t0 + 1000) + job('h2', 0, t0 + 2000),
  });
  assert.equal(plain.windowsWithSeveralRuns, 1);
});

test('fleet checker: a host whose clock libfaketime did not shift is caught', () => {
  const results = drawn.map((h) => ({ code: 0, events: [{ event: 'clock', host: h.host, clock: t0, mono: mono(t0) }] }));
  const verdict = checkFleet({ oncePer: true, t0, periodMs, windows: 2, drawn, monoToReal, results, lines: '' });
  assert.ok(verdict.problems.some((p) => /libfaketime did not take/u.test(p)), verdict.problems.join('\n'));
});
