// A benchmark actor: `hold NAME` acquires and holds until stdin says "release" (or it is killed);
// `wait NAME` waits for the lock and reports the CLOCK_MONOTONIC time of acquisition;
// `poll NAME MS` tries every MS ms instead of waiting (the polling-loop anchor);
// `chain NAME MS` waits, reports its acquisition, holds MS ms, reports the time just before its release, releases
// and exits (one link of the contention benchmark's queue).
import { acquire, tryAcquire } from '../../dist/index.js';

const [mode, name, arg] = process.argv.slice(2);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
// process.hrtime.bigint() is CLOCK_MONOTONIC, one clock for every process on the machine.
const now = () => String(process.hrtime.bigint());

if (mode === 'hold') {
  const lock = await acquire(name, { ref: true });
  emit({ event: 'held', pid: process.pid });
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', async (text) => {
    if (!text.includes('release')) return;
    const t = now();
    await lock.release();
    emit({ event: 'released', t });
    process.exit(0);
  });
} else if (mode === 'wait') {
  const pending = acquire(name, { wait: true });
  emit({ event: 'waiting' });
  await pending;
  const t = now();
  emit({ event: 'acquired', t });
  process.exit(0);
} else if (mode === 'chain') {
  const pending = acquire(name, { wait: true });
  emit({ event: 'waiting' });
  const lock = await pending;
  emit({ event: 'acquired', t: now(), pid: process.pid });
  await new Promise((resolve) => setTimeout(resolve, Number(arg)));
  const t = now();
  await lock.release();
  emit({ event: 'released', t, pid: process.pid });
  process.exit(0);
} else if (mode === 'poll') {
  const interval = Number(arg);
  emit({ event: 'waiting' });
  for (;;) {
    const lock = await tryAcquire(name);
    if (lock !== undefined) {
      emit({ event: 'acquired', t: now() });
      process.exit(0);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
