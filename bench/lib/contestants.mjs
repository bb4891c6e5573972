// Holder/waiter pairs in separate processes, for takeover (SIGKILL) and handoff (graceful release).
// Every waiter reports its acquisition on CLOCK_MONOTONIC (process.hrtime.bigint() in Node, clock_gettime in
// C), the same clock the parent reads just before it kills or releases the holder.
import { join } from 'node:path';
import { benchName, sleep } from './env.mjs';
import { actor, expectEvent, spawnJson } from './procs.mjs';
import { shuffle } from './stats.mjs';

const node = process.execPath;
/** Time for a waiter with no "waiting" event (flock(1)) to start and block, and for any waiter to connect. */
const SETTLE_MS = 150;

function nodePair(file, holderArgs, waiterArgs) {
  return {
    holder: () => spawnJson(node, [actor(file), ...holderArgs]),
    waiter: () => spawnJson(node, [actor(file), ...waiterArgs]),
    waiterSaysWaiting: true,
  };
}

/** Contestant definitions; each `make(dir)` returns fresh holder/waiter factories for one trial. */
export const contestants = {
  onlyone: () => {
    const name = benchName('pair');
    return nodePair('onlyone.mjs', ['hold', name], ['wait', name]);
  },
  'flock(2) via koffi, Node holder+waiter': (dir) => {
    const file = join(dir, `koffi-${Math.random().toString(36).slice(2)}.lock`);
    return nodePair('flock.mjs', ['hold', file], ['wait', file]);
  },
  'flock(1) holder+waiter': (dir, { now }) => {
    const file = join(dir, `flock1-${Math.random().toString(36).slice(2)}.lock`);
    return {
      // -o: the lock fd is not passed to `sleep`, so killing flock(1) alone frees the lock.
      holder: () => spawnJson('flock', ['-o', file, 'sh', '-c', 'echo \'{"event":"held"}\'; exec sleep 100000'], { detached: true }),
      waiter: () => spawnJson('flock', [file, now]),
      waiterSaysWaiting: false,
      cleanup: (holder) => { try { process.kill(-holder.child.pid, 'SIGKILL'); } catch {} },
    };
  },
  'polling every 100 ms': () => {
    const name = benchName('poll');
    return nodePair('onlyone.mjs', ['hold', name], ['poll', name, '100']);
  },
  'proper-lockfile, minimum stale (2 s)': (dir) => {
    const file = join(dir, `pl-min-${Math.random().toString(36).slice(2)}`);
    return nodePair('proper-lockfile.mjs', ['hold', file, '2000'], ['wait', file, '2000']);
  },
  'proper-lockfile, default stale (10 s)': (dir) => {
    const file = join(dir, `pl-def-${Math.random().toString(36).slice(2)}`);
    return nodePair('proper-lockfile.mjs', ['hold', file, 'default'], ['wait', file, 'default']);
  },
};

/**
 * One trial: start a holder, start a waiter, then end the holder with `how` ('kill': SIGKILL, 'release': a
 * graceful release) and return the ms from that moment to the waiter's acquisition.
 */
export async function trial(pair, how, timeoutMs = 30_000) {
  const holder = pair.holder();
  let waiter;
  try {
    await expectEvent(holder, 'held', timeoutMs);
    waiter = pair.waiter();
    if (pair.waiterSaysWaiting) await expectEvent(waiter, 'waiting', timeoutMs);
    await sleep(SETTLE_MS);
    let t0;
    if (how === 'kill') {
      t0 = process.hrtime.bigint();
      holder.child.kill('SIGKILL');
    } else {
      holder.child.stdin.write('release\n');
      t0 = BigInt((await expectEvent(holder, 'released', timeoutMs)).t);
    }
    const acquired = await expectEvent(waiter, 'acquired', timeoutMs);
    return Number(BigInt(acquired.t) - t0) / 1e6;
  } finally {
    await Promise.all([holder.kill(), waiter?.kill()]);
    pair.cleanup?.(holder);
  }
}

/** Runs `trials` trials of each of `keys` interleaved in shuffled rounds, or `concurrent` at once. */
export async function runTrials(keys, { trials, how, dir, now, concurrent = false, onTrial }) {
  const samples = Object.fromEntries(keys.map((k) => [k, []]));
  if (concurrent) {
    for (const key of keys) {
      const results = await Promise.all(Array.from({ length: trials }, () => trial(contestants[key](dir, { now }), how)));
      samples[key].push(...results);
      onTrial?.(key);
    }
    return samples;
  }
  for (let round = 0; round < trials; round++) {
    const order = shuffle([...keys]);
    for (const key of order) {
      samples[key].push(await trial(contestants[key](dir, { now }), how));
      onTrial?.(key);
    }
  }
  return samples;
}

