// Post-build step for the `onlyone` command (run by `npm run build` after tsc).
//
// Why: on Node 20 the ESM loader alone costs ~20 ms at start-up, more than the whole 15 % budget over
// `node -e 0` (measured: tsc's ESM output 1.39x, one ESM bundle 1.36x, one CommonJS bundle 1.09x).
// So dist/cli/main.js becomes a single CommonJS file (dist/cli/package.json says so) holding the CLI and
// the library code it uses; lazily imported modules stay lazy inside it, and koffi stays external.
// Without esbuild (an install that skipped devDependencies) tsc's ESM output is kept: slower, same behaviour.
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LAUNCHER } from './cli-launcher.mjs';

const cliDir = fileURLToPath(new URL('../dist/cli/', import.meta.url));
const BUNDLE = 'onlyone.cjs';
// main.js turns on Node's compile cache (Node >= 22.1) before it loads the bundle, so later starts skip compiling
// it (about 9 ms of CPU on Node 24). The cache lives in the user's own cache directory, and only if the user owns
// it: code read from a directory another user controls would run as us. Node 20 has no compile cache.
const SHIM = `try {
  const { enableCompileCache } = require('node:module');
  const home = process.env.XDG_CACHE_HOME || process.env.HOME;
  const dir = process.env.XDG_CACHE_HOME ? home + '/onlyone' : home + '/.cache/onlyone';
  if (enableCompileCache && home && require('node:fs').statSync(home).uid === process.getuid()) enableCompileCache(dir);
} catch {}
require('./${BUNDLE}');
`;
const entry = `${cliDir}main.js`;

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('bundle-cli: esbuild is not installed; keeping the unbundled CLI (slower start-up)');
  // A marker left by an earlier bundled build would make tsc's ESM files load as CommonJS.
  rmSync(`${cliDir}package.json`, { force: true });
}

if (esbuild !== undefined) {
  const { outputFiles } = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.8',
    external: ['koffi', 'pg'],
    // Less to read and parse at every start (about 4 ms of CPU on Node 24); names are kept for stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    write: false,
    outfile: entry,
    logLevel: 'warning',
  });
  const [bundle] = outputFiles;
  // tsc's per-module output is inside the bundle now; leave only the bundle, main.js and its declaration.
  for (const file of readdirSync(cliDir)) {
    if (file !== 'main.d.ts') rmSync(`${cliDir}${file}`);
  }
  // The launcher (see cli-launcher.mjs) replaces esbuild's `#!/usr/bin/env node`, then the compile-cache shim loads the bundle.
  writeFileSync(`${cliDir}${BUNDLE}`, bundle.text.replace(/^#!.*\n/u, ''));
  writeFileSync(entry, `${LAUNCHER}\n${SHIM}`);
  writeFileSync(`${cliDir}package.json`, '{ "type": "commonjs" }\n');
}
chmodSync(entry, 0o755);
