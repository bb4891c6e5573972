// Regenerates docs/benchmarks.svg and the results block of docs/benchmarks.md from bench/results/*.json.
import { isMain } from './lib/env.mjs';
import { loadResults } from './lib/results.mjs';
import { writeChart } from './chart.mjs';
import { writeReport } from './report.mjs';

export function writeDocs() {
  const all = loadResults();
  writeChart(all);
  writeReport(all);
  process.stdout.write(`wrote docs/benchmarks.svg and the results in docs/benchmarks.md (${all.map((r) => `Node ${r.machine.node}: ${r.runs.length} runs`).join(', ')})\n`);
}

if (isMain(import.meta.url)) writeDocs();
