// `npm run bench`: every benchmark against its anchors in one run, one table, goals checked, results written
// to bench/results.json (and, with --write-docs, the chart and the table in docs/benchmarks.md).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkGoals, formatGoal } from './lib/goals.mjs';
import { machine, root } from './lib/env.mjs';
import { printTable } from './lib/stats.mjs';

const quick = process.argv.includes('--quick');
const writeDocs = process.argv.includes('--write-docs');
const suites = ['acquire', 'busy', 'scale', 'takeover', 'handoff', 'cli'];
const rows = [];
const skipped = [];
for (const suite of suites) {
  const file = join(root, 'bench', `${suite}.mjs`);
  if (!existsSync(file)) {
    skipped.push(`${suite}: bench/${suite}.mjs does not exist`);
    continue;
  }
  const module = await import(pathToFileURL(file).href);
  if (typeof module.run !== 'function') {
    skipped.push(`${suite}: bench/${suite}.mjs exports no run()`);
    continue;
  }
  process.stderr.write(`bench: ${suite}...\n`);
  const started = Date.now();
  rows.push(...(await module.run({ quick })));
  process.stderr.write(`bench: ${suite} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const info = machine();
process.stdout.write(`\nonlyone benchmarks: Node ${info.node} (libuv ${info.uv}), ${info.cpu} × ${info.cores}, Linux ${info.kernel}, ${info.date}${quick ? ' (quick)' : ''}\n\n`);
printTable(rows);
const goals = checkGoals(rows);
process.stdout.write(`\ngoals:\n${goals.map((g) => `  ${formatGoal(g)}`).join('\n')}\n`);
for (const s of skipped) process.stdout.write(`skipped ${s}\n`);

const results = { machine: info, quick, rows: rows.map(({ samples, ...summary }) => summary), goals, skipped };
writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write('wrote bench/results.json\n');
if (writeDocs) {
  const { writeChart } = await import('./chart.mjs');
  const { writeReport } = await import('./report.mjs');
  writeChart(results);
  writeReport(results);
  process.stdout.write('wrote docs/benchmarks.svg and the table in docs/benchmarks.md\n');
}
