// In-process acquire+release: onlyone vs proper-lockfile lock+unlock vs a raw `net` listen+close on an
// abstract name. The three run interleaved (shuffled order each round) in the same process.
import net from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { acquire } from '../dist/index.js';
import { benchName, isMain, rawAddress, tempDir } from './lib/env.mjs';
import { interleave, printTable, summarize } from './lib/stats.mjs';

const GROUP = 'acquire+release, in process';

/** Binds and closes `address` the way onlyone does, without the protocol: the floor for any socket lock. */
export function rawListen(address) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ path: address, exclusive: true, backlog: 511 }, () => resolve(server));
  });
}

export async function run({ quick = false, scale = 1 } = {}) {
  const rounds = quick ? 300 : Math.round(3000 * scale);
  const name = benchName('acquire');
  const address = rawAddress('acquire');
  const dir = tempDir();
  const file = join(dir, 'proper-lockfile.target');
  writeFileSync(file, '');
  const contestants = {
    'onlyone acquire+release': async () => {
      const lock = await acquire(name);
      await lock.release();
    },
    'raw net listen+close': async () => {
      const server = await rawListen(address);
      server.close();
    },
    'proper-lockfile lock+unlock': async () => {
      const release = await lockfile.lock(file);
      await release();
    },
  };
  const samples = await interleave(contestants, { warmup: quick ? 50 : 300, rounds, block: 10 });
  rmSync(dir, { recursive: true, force: true });
  return Object.entries(samples).map(([key, s]) => summarize({ group: GROUP, name: key, unit: 'µs', samples: s }));
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
