// Handoff on graceful release, waiter in another process: from the holder's release call to the waiter's
// acquisition. onlyone against a kernel-blocked flock(2) waiter (Node, through koffi) and proper-lockfile.
import { rmSync } from 'node:fs';
import { isMain, tempDir } from './lib/env.mjs';
import { runTrials } from './lib/contestants.mjs';
import { printTable, summarize } from './lib/stats.mjs';

const GROUP = 'handoff on graceful release, waiter in another process';

export async function run({ quick = false, scale = 1 } = {}) {
  const dir = tempDir();
  const keys = ['onlyone', 'flock(2) via koffi, Node holder+waiter', 'proper-lockfile, minimum stale (2 s)', 'polling every 100 ms'];
  const samples = await runTrials(keys, { trials: quick ? 5 : Math.round(30 * scale), how: 'release', dir }).finally(() => rmSync(dir, { recursive: true, force: true }));
  return Object.entries(samples).map(([name, s]) => summarize({ group: GROUP, name: name.replace(', minimum stale (2 s)', ' (retries every 100 ms)'), unit: 'ms', samples: s }));
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
