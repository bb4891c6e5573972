// Takeover after the holder is SIGKILLed, waiter in another process: from the kill to the waiter's
// acquisition. onlyone against kernel-blocked flock waiters (flock(1), and Node processes using flock(2)
// through koffi: the same kind of holder as onlyone's), proper-lockfile (minimum and default stale) and a
// 100 ms polling loop.
import { rmSync } from 'node:fs';
import { isMain, tempDir } from './lib/env.mjs';
import { hasFlock, nativeHelper } from './lib/native.mjs';
import { runTrials } from './lib/contestants.mjs';
import { printTable, summarize } from './lib/stats.mjs';

const GROUP = 'takeover after SIGKILL, waiter in another process';

export async function run({ quick = false, scale = 1 } = {}) {
  const dir = tempDir();
  const now = nativeHelper('now');
  const keys = ['onlyone', 'flock(2) via koffi, Node holder+waiter', 'polling every 100 ms'];
  const notes = [];
  if (hasFlock() && now !== undefined) keys.splice(2, 0, 'flock(1) holder+waiter');
  else notes.push('flock(1) skipped: needs util-linux flock and gcc');
  const interleaved = await runTrials(keys, { trials: quick ? 5 : Math.round(30 * scale), how: 'kill', dir, now });
  // proper-lockfile waits for its stale time, so its trials run concurrently (each on its own file).
  const slow = await runTrials(['proper-lockfile, minimum stale (2 s)'], { trials: quick ? 2 : 6, how: 'kill', dir, concurrent: true });
  const slower = await runTrials(['proper-lockfile, default stale (10 s)'], { trials: quick ? 1 : 3, how: 'kill', dir, concurrent: true });
  rmSync(dir, { recursive: true, force: true });
  for (const note of notes) process.stderr.write(`${note}\n`);
  return Object.entries({ ...interleaved, ...slow, ...slower }).map(([name, samples]) => summarize({ group: GROUP, name, unit: 'ms', samples }));
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
