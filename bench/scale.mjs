// Acquire+release cost while this process already holds 1, 100 and 10,000 other locks: it must stay flat,
// since nothing in onlyone walks the set of held locks.
import { acquire } from '../dist/index.js';
import { benchName, isMain } from './lib/env.mjs';
import { microsSince, printTable, summarize } from './lib/stats.mjs';

const GROUP = 'acquire+release with N other locks held by the process';

export async function run({ quick = false, scale = 1 } = {}) {
  const levels = [1, 100, 10_000];
  const rounds = quick ? 300 : Math.round(2000 * scale);
  const held = [];
  const rows = [];
  const base = benchName('scale');
  try {
    for (const level of levels) {
      while (held.length < level) held.push(await acquire(`${base}-held-${held.length}`));
      const name = `${base}-probe`;
      const samples = [];
      for (let i = 0; i < rounds + 200; i++) {
        const start = process.hrtime.bigint();
        const lock = await acquire(name);
        await lock.release();
        if (i >= 200) samples.push(microsSince(start));
      }
      rows.push(summarize({ group: GROUP, name: `onlyone, ${level.toLocaleString('en')} held`, unit: 'µs', samples }));
    }
  } finally {
    await Promise.all(held.map((lock) => lock.release()));
  }
  return rows;
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
