// Benchmark helper process. argv: name, options JSON, mode.
//   waiter  per stdin line `wait`: acquire with { wait: true }, report `acquired` with a wall-clock `t`, release, report `released`
//   holder  acquire, report `acquired`, then hold until killed
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { acquire } from '../dist/index.js';

const [name, optionsJson, mode] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const now = () => performance.timeOrigin + performance.now();
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

if (mode === 'holder') {
  const lock = await acquire(name, options);
  lock.ref();
  emit({ event: 'acquired', t: now() });
} else {
  emit({ event: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'wait') continue;
    const lock = await acquire(name, { ...options, wait: true });
    const t = now();
    await lock.release();
    emit({ event: 'acquired', t });
  }
}
