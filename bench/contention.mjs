// Handoff under contention: a holder and 100 waiting processes (started one after another, so they queue in a
// known order) on one lock. Each waiter, once it holds the lock, holds it HOLD_MS ms, releases and exits; a handoff
// is the time from one release to the next acquisition. onlyone against 100 Node waiters blocked in flock(2)
// behind the same kind of Node holder, in the same run. Also reports how many handoffs went to the waiter that
// had waited longest (arrival order).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchName, isMain, sleep, tempDir } from './lib/env.mjs';
import { actor, expectEvent, spawnJson } from './lib/procs.mjs';
import { printTable, summarize } from './lib/stats.mjs';

const GROUP = 'handoff with 100 waiting processes';
const HOLD_MS = 30;
/** Time for a started waiter to connect (or block in flock(2)) before the next one starts. */
const QUEUE_MS = 25;

const kinds = {
  onlyone: () => ({ file: 'onlyone.mjs', target: benchName('herd') }),
  'flock(2) via koffi, Node holder+waiter': (dir) => ({ file: 'flock.mjs', target: join(dir, `herd-${Math.random().toString(36).slice(2)}.lock`) }),
};

/** One queue of `waiters` behind a holder: the handoff times (ms) and the share served in arrival order. */
async function queue(kind, dir, waiters) {
  const { file, target } = kinds[kind](dir);
  const holder = spawnJson(process.execPath, [actor(file), 'hold', target]);
  const queued = [];
  try {
    await expectEvent(holder, 'held', 30_000);
    for (let i = 0; i < waiters; i++) {
      const waiter = spawnJson(process.execPath, [actor(file), 'chain', target, String(HOLD_MS)]);
      queued.push(waiter);
      // Generous: on a machine at load 60 a Node process has taken more than 30 s to start.
      await expectEvent(waiter, 'waiting', 180_000);
      await sleep(QUEUE_MS);
    }
    await sleep(200);
    holder.child.stdin.write('release\n');
    const released = await expectEvent(holder, 'released', 30_000);
    const events = await Promise.all(queued.map(async (waiter, index) => {
      const acquired = await expectEvent(waiter, 'acquired', 120_000);
      const done = await expectEvent(waiter, 'released', 120_000);
      return { index, acquired: BigInt(acquired.t), released: BigInt(done.t) };
    }));
    events.sort((a, b) => (a.acquired < b.acquired ? -1 : 1));
    const handoffs = [];
    let previous = BigInt(released.t);
    let inOrder = 0;
    const waiting = new Set(events.map((e) => e.index));
    for (const event of events) {
      handoffs.push(Number(event.acquired - previous) / 1e6);
      if (event.index === Math.min(...waiting)) inOrder++;
      waiting.delete(event.index);
      previous = event.released;
    }
    return { handoffs, inOrder };
  } finally {
    await Promise.all([holder.kill(), ...queued.map((w) => w.kill())]);
  }
}

export async function run({ quick = false } = {}) {
  const dir = tempDir();
  const waiters = quick ? 20 : 100;
  const rows = [];
  try {
    for (const kind of Object.keys(kinds)) {
      const { handoffs, inOrder } = await queue(kind, dir, waiters);
      const note = `${inOrder} of ${handoffs.length} handoffs to the longest waiter`;
      process.stderr.write(`bench: contention, ${kind}: ${note}\n`);
      rows.push(summarize({ group: GROUP.replace('100', String(waiters)), name: kind, unit: 'ms', samples: handoffs, note }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
