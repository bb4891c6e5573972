// The results files (bench/results/node<MAJOR>.json, one per Node major, each holding every run of one
// `npm run bench`) and the summaries across runs that the docs and the chart show.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './env.mjs';
import { median } from './stats.mjs';

const dir = join(root, 'bench/results');
/** The order the docs show Node versions in: the current LTS first, then the end-of-life one beside it. */
const PREFERRED = [24, 20, 22];

const major = (version) => Number(/^v?(\d+)/u.exec(version)?.[1]);

export const resultsFile = (version) => join(dir, `node${major(version)}.json`);

/** Every results file, Node 24 first, then 20, then any other version. */
export function loadResults() {
  if (!existsSync(dir)) return [];
  const all = readdirSync(dir)
    .filter((file) => /^node\d+\.json$/u.test(file))
    .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')));
  const rank = (r) => {
    const index = PREFERRED.indexOf(major(r.machine.node));
    return index === -1 ? PREFERRED.length + major(r.machine.node) : index;
  };
  return all.sort((a, b) => rank(a) - rank(b));
}

/**
 * One row per (group, name) seen in any run of `results`: the median of the runs' medians, their minimum and
 * maximum (the spread), and how many runs had it. Rows keep the order of the first run.
 */
export function summarizeRuns(results) {
  const rows = new Map();
  for (const run of results.runs) {
    for (const row of run.rows) {
      const key = `${row.group}\u0000${row.name}`;
      if (!rows.has(key)) rows.set(key, { group: row.group, name: row.name, unit: row.unit, n: row.n, medians: [], notes: [] });
      if (Number.isFinite(row.median)) rows.get(key).medians.push(row.median);
      if (row.note !== undefined && !row.note.startsWith('from bench/')) rows.get(key).notes.push(row.note);
    }
  }
  return [...rows.values()].map((row) => ({ ...row, median: median(row.medians), low: Math.min(...row.medians), high: Math.max(...row.medians) }));
}

/** Each goal across the runs: its value in every run, and met only when every run met it. */
export function summarizeGoals(results) {
  const goals = new Map();
  for (const run of results.runs) {
    for (const goal of run.goals) {
      if (!goals.has(goal.goal)) goals.set(goal.goal, { goal: goal.goal, detail: goal.detail, limit: goal.limit, values: [], verdicts: [] });
      goals.get(goal.goal).values.push(goal.measured);
      goals.get(goal.goal).verdicts.push(goal.met);
    }
  }
  return [...goals.values()].map((g) => ({
    ...g,
    met: g.verdicts.every((v) => v === true) ? true : g.verdicts.some((v) => v === false) ? false : undefined,
    metIn: g.verdicts.filter((v) => v === true).length,
  }));
}
