// The goals from docs/benchmarks.md, checked against one run's rows.

const find = (rows, group, prefix) => rows.find((r) => r.group.startsWith(group) && r.name.startsWith(prefix));

/** Each goal with its measured value, or `measured: undefined` when the rows it needs are missing. */
export function checkGoals(rows) {
  const goals = [];
  const add = (goal, limit, compare, value, detail) =>
    goals.push({ goal, limit, measured: Number.isFinite(value) ? value : undefined, met: Number.isFinite(value) ? compare(value, limit) : undefined, detail });
  const acq = find(rows, 'acquire+release', 'onlyone');
  const pl = find(rows, 'acquire+release', 'proper-lockfile');
  const raw = find(rows, 'acquire+release', 'raw net');
  add('acquire+release: proper-lockfile ÷ onlyone (median)', 10, (v, l) => v >= l, pl && acq ? pl.median / acq.median : Number.NaN, '≥ 10×');
  add('acquire+release: onlyone ÷ raw net listen+close (median)', 2.5, (v, l) => v <= l, acq && raw ? acq.median / raw.median : Number.NaN, '≤ 2.5×');
  const take = find(rows, 'takeover', 'onlyone');
  const flock2 = find(rows, 'takeover', 'flock(2)');
  add('takeover after SIGKILL: onlyone ÷ flock(2) Node holder+waiter (median)', 1.5, (v, l) => v <= l, take && flock2 ? take.median / flock2.median : Number.NaN, '≤ 1.5×');
  const cliBase = rows.find((r) => /cli/iu.test(r.group) && /node -e 0/u.test(r.name));
  const cli = rows.find((r) => /cli/iu.test(r.group) && r.name.startsWith('onlyone'));
  add('CLI start-to-exit: overhead over `node -e 0` (median)', 0.15, (v, l) => v < l, cli && cliBase ? cli.median / cliBase.median - 1 : Number.NaN, '< 15 %');
  return goals;
}

export function formatGoal(g) {
  const value = g.measured === undefined ? 'not measured' : g.limit < 1 ? `${(g.measured * 100).toFixed(1)} %` : `${g.measured.toFixed(2)}×`;
  const verdict = g.met === undefined ? 'n/a' : g.met ? 'met' : 'MISSED';
  return `${g.goal}: ${value} (goal ${g.detail}) ${verdict}`;
}
