// proper-lockfile as holder or waiter. `hold FILE STALE`; `wait FILE STALE` retries every 100 ms
// (proper-lockfile cannot wait without retries) and takes over once the dead holder's lock is stale.
import lockfile from 'proper-lockfile';

const [mode, file, staleArg] = process.argv.slice(2);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const stale = staleArg === 'default' ? undefined : Number(staleArg);
// realpath: false, so the target file need not exist (the lock is the FILE.lock directory).
const options = stale === undefined ? { realpath: false } : { stale, realpath: false };

if (mode === 'hold') {
  const release = await lockfile.lock(file, options);
  emit({ event: 'held', pid: process.pid });
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', async (text) => {
    if (!text.includes('release')) return;
    const t = String(process.hrtime.bigint());
    await release();
    emit({ event: 'released', t });
    process.exit(0);
  });
} else if (mode === 'wait') {
  emit({ event: 'waiting' });
  const release = await lockfile.lock(file, { ...options, retries: { forever: true, factor: 1, minTimeout: 100, maxTimeout: 100 } });
  emit({ event: 'acquired', t: String(process.hrtime.bigint()) });
  await release();
  process.exit(0);
} else {
  throw new Error(`unknown mode ${mode}`);
}
