// A stress worker: loops acquire(wait) -> critical section -> release, logging each step with the
// CLOCK_MONOTONIC time (process.hrtime.bigint(), one clock for every process on the machine).
// Records are written synchronously, so a SIGKILL never loses one that the worker got past.
//   node worker.mjs NAME LOGFILE SLOTS(0 = exclusive, -1 = take no lock at all: the runner's --self-check)
import { openSync, writeSync } from 'node:fs';
import { acquire } from '../../dist/index.js';

const [name, logFile, slotsArg] = process.argv.slice(2);
const slots = Number(slotsArg);
const fd = openSync(logFile, 'a');
const log = (kind) => writeSync(fd, `${kind} ${process.pid} ${process.hrtime.bigint()}\n`);
const options = { wait: true, ...(slots > 0 ? { slots } : {}) };
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

for (;;) {
  log('WAIT');
  const lock = slots < 0 ? { release: async () => {} } : await acquire(name, options);
  log('ACQUIRED');
  // The critical section: some time asleep and some busy, so overlaps have room to show.
  await pause(Math.random() * 3);
  const spinUntil = process.hrtime.bigint() + BigInt(Math.floor(Math.random() * 500_000));
  while (process.hrtime.bigint() < spinUntil);
  log('RELEASED');
  await lock.release();
  if (Math.random() < 0.2) await pause(Math.random() * 5);
}
