// A failed acquire while another process holds the lock: onlyone with the holder's info (connect, read
// hello), onlyone tryAcquire (no info), against a raw failed bind (EADDRINUSE). Interleaved.
import { acquire, tryAcquire } from '../dist/index.js';
import { rawListen } from './acquire.mjs';
import { benchName, isMain, rawAddress } from './lib/env.mjs';
import { actor, expectEvent, spawnJson } from './lib/procs.mjs';
import { interleave, printTable, summarize } from './lib/stats.mjs';

const GROUP = 'failed acquire (held by another process)';

function failedBind(address) {
  return rawListen(address).then(
    (server) => { server.close(); throw new Error('raw bind unexpectedly succeeded'); },
    (error) => { if (error.code !== 'EADDRINUSE') throw error; },
  );
}

export async function run({ quick = false, scale = 1 } = {}) {
  const rounds = quick ? 200 : Math.round(2000 * scale);
  const name = benchName('busy');
  const address = rawAddress('busy');
  const holder = spawnJson(process.execPath, [actor('onlyone.mjs'), 'hold', name]);
  const rawHolder = await rawListen(address);
  try {
    await expectEvent(holder, 'held');
    const contestants = {
      'onlyone acquire, busy + holder info': async () => {
        try {
          await acquire(name);
        } catch (error) {
          if (error.code !== 'ERR_LOCK_BUSY' || error.holder?.pid !== holder.child.pid) throw error;
          return;
        }
        throw new Error('acquire unexpectedly succeeded');
      },
      'onlyone tryAcquire, busy (no info)': async () => {
        if ((await tryAcquire(name)) !== undefined) throw new Error('tryAcquire unexpectedly succeeded');
      },
      'raw net failed bind (EADDRINUSE)': () => failedBind(address),
    };
    const samples = await interleave(contestants, { warmup: quick ? 30 : 200, rounds });
    return Object.entries(samples).map(([key, s]) => summarize({ group: GROUP, name: key, unit: 'µs', samples: s }));
  } finally {
    rawHolder.close();
    await holder.kill();
  }
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
