// `npm run bench`: every benchmark against its anchors in one run, one table, goals checked, results written
// to bench/results.json (and, with --write-docs, the chart and the table in docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkGoals, formatGoal } from './lib/goals.mjs';
import { machine, root } from './lib/env.mjs';
import { printTable } from './lib/stats.mjs';

const quick = process.argv.includes('--quick');
const writeDocs = process.argv.includes('--write-docs');
const suites = ['acquire', 'busy', 'scale', 'takeover', 'handoff', 'cli', 'etcd'];
const rows = [];
const skipped = [];
const scripts = [];
for (const suite of suites) {
  const file = join(root, 'bench', `${suite}.mjs`);
  if (!existsSync(file)) {
    skipped.push(`${suite}: bench/${suite}.mjs does not exist`);
    continue;
  }
  // Importing a plain script would run it, so look for a run() export in the source first.
  const exportsRun = /export\s+(?:async\s+)?function\s+run\b|export\s*\{[^}]*\brun\b/u.test(readFileSync(file, 'utf8'));
  const module = exportsRun ? await import(pathToFileURL(file).href) : {};
  if (typeof module.run !== 'function') {
    // A benchmark written as a plain script still runs; its own output is shown and kept in results.json.
    process.stderr.write(`bench: ${suite} (as a script)...\n`);
    const result = spawnSync(process.execPath, [file, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    scripts.push({ suite, status: result.status, output: result.stdout });
    rows.push(...rowsFromMarkdown(suite, result.stdout));
    continue;
  }
  process.stderr.write(`bench: ${suite}...\n`);
  const started = Date.now();
  rows.push(...(await module.run({ quick })));
  process.stderr.write(`bench: ${suite} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * Rows from a script's markdown table, so its medians join the table, the ratios and the goals. The header
 * says which column is the median (`| command | min ms | median ms | ... |`); rows are `| \`command\` | ... |`.
 * The script's own output is printed as well.
 */
function rowsFromMarkdown(suite, text) {
  const found = [];
  let medianColumn;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    if (medianColumn === undefined) {
      const index = cells.findIndex((cell) => /^median\b.*\bms$/u.test(cell));
      if (index > 0) medianColumn = index;
      continue;
    }
    const name = /^`([^`]+)`$/u.exec(cells[0] ?? '')?.[1];
    const median = Number(cells[medianColumn]);
    if (name !== undefined && Number.isFinite(median)) {
      found.push({ group: suite === 'cli' ? 'CLI start-to-exit (bench/cli.mjs)' : suite, name, unit: 'ms', n: undefined, median, p99: Number.NaN, min: Number.NaN, max: Number.NaN, note: `from bench/${suite}.mjs output` });
    }
  }
  // The ratios are relative to the row whose name starts with "onlyone": put it first, as in the other groups.
  return found.sort((a, b) => Number(b.name.startsWith('onlyone')) - Number(a.name.startsWith('onlyone')));
}

const info = machine();
process.stdout.write(`\nonlyone benchmarks: Node ${info.node} (libuv ${info.uv}), ${info.cpu} × ${info.cores}, Linux ${info.kernel}, ${info.date}${quick ? ' (quick)' : ''}\n\n`);
printTable(rows);
const goals = checkGoals(rows);
process.stdout.write(`\ngoals:\n${goals.map((g) => `  ${formatGoal(g)}`).join('\n')}\n`);
for (const s of skipped) process.stdout.write(`skipped ${s}\n`);
for (const s of scripts) process.stdout.write(`\n[bench/${s.suite}.mjs, exit ${s.status}]\n${s.output}`);

const results = { machine: info, quick, rows: rows.map(({ samples, ...summary }) => summary), goals, skipped, scripts };
writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write('wrote bench/results.json\n');
if (writeDocs) {
  const { writeChart } = await import('./chart.mjs');
  const { writeReport } = await import('./report.mjs');
  writeChart(results);
  writeReport(results);
  process.stdout.write('wrote docs/benchmarks.svg and the table in docs/benchmarks.md\n');
}
