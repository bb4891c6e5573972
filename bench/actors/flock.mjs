// A Node process that locks a file with flock(2) through koffi: the "same kind of holder" anchor for
// onlyone's takeover. `hold FILE` holds until killed or told "release"; `wait FILE` blocks in the kernel;
// `chain FILE MS` waits, holds MS ms, unlocks and exits, reporting both times.
import { openSync } from 'node:fs';
import koffi from 'koffi';

const [mode, file] = process.argv.slice(2);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const LOCK_EX = 2;
const LOCK_UN = 8;
const flock = koffi.load('libc.so.6').func('int flock(int fd, int operation)');
const fd = openSync(file, 'a');

if (mode === 'hold') {
  if (flock(fd, LOCK_EX) !== 0) throw new Error('flock failed');
  emit({ event: 'held', pid: process.pid });
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text) => {
    if (!text.includes('release')) return;
    const t = String(process.hrtime.bigint());
    flock(fd, LOCK_UN);
    emit({ event: 'released', t });
    process.exit(0);
  });
} else if (mode === 'wait') {
  emit({ event: 'waiting' });
  // Give the parent a moment to read "waiting" before this thread blocks in the kernel.
  await new Promise((resolve) => setTimeout(resolve, 10));
  if (flock(fd, LOCK_EX) !== 0) throw new Error('flock failed');
  emit({ event: 'acquired', t: String(process.hrtime.bigint()) });
  process.exit(0);
} else if (mode === 'chain') {
  // One link of the contention benchmark's queue: wait, report, hold MS ms, report, unlock, exit.
  emit({ event: 'waiting' });
  await new Promise((resolve) => setTimeout(resolve, 10));
  if (flock(fd, LOCK_EX) !== 0) throw new Error('flock failed');
  emit({ event: 'acquired', t: String(process.hrtime.bigint()), pid: process.pid });
  await new Promise((resolve) => setTimeout(resolve, Number(process.argv[4])));
  const t = String(process.hrtime.bigint());
  flock(fd, LOCK_UN);
  emit({ event: 'released', t, pid: process.pid });
  process.exit(0);
} else {
  throw new Error(`unknown mode ${mode}`);
}
