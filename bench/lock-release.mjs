// `onlyone lock`: from SIGKILL of the calling shell to a waiter holding the lock, against flock(1)'s
// `exec 9>f; flock -n 9` in the same run. Both waiters are blocked (onlyone: on the holder's connection;
// flock: in the kernel) before the kill; the time runs from the kill to the waiter's "got it" (a library
// waiter for onlyone, since spawning a command from Node would add its own milliseconds). A SIGKILLed library
// holder, whose socket the kernel closes, separates what the pidfd watch adds from what waiting costs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchName, isMain, root, sleep, tempDir } from './lib/env.mjs';
import { hasFlock } from './lib/native.mjs';
import { printTable, summarize } from './lib/stats.mjs';

const GROUP = 'lock for the rest of a script: SIGKILL of the shell to the next holder';
const cli = join(root, 'dist/cli/main.js');

/** Starts `sh -c SCRIPT` and resolves once it printed "held". */
async function lockingShell(script) {
  const shell = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE: process.execPath, CLI: cli, DIST: join(root, 'dist/index.js') } });
  let out = '';
  shell.stdout.setEncoding('utf8');
  while (!out.includes('held')) {
    const [chunk] = await Promise.race([once(shell.stdout, 'data'), once(shell, 'exit').then(() => { throw new Error('the locking shell exited'); })]);
    out += chunk;
  }
  return shell;
}

/** Starts a waiter process that prints "got" once it holds the lock. */
async function waiter(file, args) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE: process.execPath, CLI: cli } });
  child.stdout.setEncoding('utf8');
  // Give it time to block on the lock before the kill.
  await sleep(300);
  return child;
}

const LIBRARY_HOLDER = 'a SIGKILLed library holder (no pidfd: the socket itself closes)';

async function trial(kind, dir) {
  const name = benchName('lock');
  const file = join(dir, name);
  const library = `"$NODE" --input-type=module -e 'const { acquire } = await import(process.env.DIST); await acquire("${name}"); console.log("held"); setInterval(() => {}, 1e6);'`;
  const shell = kind === 'onlyone lock'
    ? await lockingShell(`"$NODE" "$CLI" lock ${name} || exit 9; echo held; read x`)
    : kind === LIBRARY_HOLDER
      ? await lockingShell(`exec ${library}`)
      : await lockingShell(`exec 9>${file}; flock -n 9 || exit 9; echo held; read x`);
  const child = kind !== 'flock(1) exec 9>f; flock -n 9'
    ? await waiter(process.execPath, ['--input-type=module', '-e', `const { acquire } = await import(${JSON.stringify(join(root, 'dist/index.js'))}); await acquire(${JSON.stringify(name)}, { wait: true }); process.stdout.write('got');`])
    : await waiter('flock', [file, 'echo', 'got']);
  const got = once(child.stdout, 'data');
  const start = process.hrtime.bigint();
  shell.kill('SIGKILL');
  await got;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await once(child, 'exit');
  return ms;
}

export async function run({ quick = false } = {}) {
  const dir = tempDir();
  const kinds = ['onlyone lock', LIBRARY_HOLDER, ...(hasFlock() ? ['flock(1) exec 9>f; flock -n 9'] : [])];
  const samples = Object.fromEntries(kinds.map((kind) => [kind, []]));
  try {
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      for (const kind of kinds) samples[kind].push(await trial(kind, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return kinds.map((name) => summarize({ group: GROUP, name, unit: 'ms', samples: samples[name] }));
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
