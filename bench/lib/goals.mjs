// The goals from docs/benchmarks.md (issue 17), checked against one run's rows. Every goal is a ratio of two
// medians measured side by side in the same run.

const find = (rows, group, prefix) => rows.find((r) => r.group.startsWith(group) && r.name.startsWith(prefix));
const ratioOf = (a, b) => (a && b && b.median > 0 ? a.median / b.median : Number.NaN);

/** Each goal with its measured value, or `measured: undefined` when the rows it needs are missing. */
export function checkGoals(rows) {
  const goals = [];
  const atMost = (v, l) => v <= l;
  const add = (goal, limit, compare, value, detail) =>
    goals.push({ goal, limit, measured: Number.isFinite(value) ? value : undefined, met: Number.isFinite(value) ? compare(value, limit) : undefined, detail });
  const acq = find(rows, 'acquire+release', 'onlyone');
  add('acquire+release: proper-lockfile ÷ onlyone', 10, (v, l) => v >= l, ratioOf(find(rows, 'acquire+release', 'proper-lockfile'), acq), '≥ 10×');
  add('acquire+release: onlyone ÷ raw net listen+close', 2.5, atMost, ratioOf(acq, find(rows, 'acquire+release', 'raw net')), '≤ 2.5×');
  add('takeover after SIGKILL: onlyone ÷ flock(2), Node holder and waiter', 1.5, atMost, ratioOf(find(rows, 'takeover', 'onlyone'), find(rows, 'takeover', 'flock(2)')), '≤ 1.5×');
  add('handoff on release, 1 waiter: onlyone ÷ flock(2)', 3, atMost, ratioOf(find(rows, 'handoff on graceful', 'onlyone'), find(rows, 'handoff on graceful', 'flock(2)')), '≤ 3×');
  add('handoff on release, 100 waiters: onlyone ÷ flock(2)', 3, atMost, ratioOf(find(rows, 'handoff with 100', 'onlyone'), find(rows, 'handoff with 100', 'flock(2)')), '≤ 3×');
  const cliRows = rows.filter((r) => /cli/iu.test(r.group));
  const cli = cliRows.find((r) => r.name.startsWith('onlyone run NAME'));
  add('CLI `run NAME -- true` ÷ the floor script', 1.1, atMost, ratioOf(cli, cliRows.find((r) => r.name.startsWith('floor'))), '≤ 1.10×');
  add('CLI `run NAME -- true` ÷ `node -e 0`', 1.15, (v, l) => v < l, ratioOf(cli, cliRows.find((r) => r.name === 'node -e 0')), '< 1.15×');
  return goals;
}

export function formatGoal(g) {
  const value = g.measured === undefined ? 'not measured' : `${g.measured.toFixed(2)}×`;
  const verdict = g.met === undefined ? 'n/a' : g.met ? 'met' : 'MISSED';
  return `${g.goal}: ${value} (goal ${g.detail}) ${verdict}`;
}
