// The chaos process: SIGKILLs random stress workers, holders and waiters alike, and logs each kill to its own log
// with two times: read just before kill() (never later than the victim's death) and just after it returned (never
// earlier than the moment the victim could no longer log a record). The checker needs both: on a loaded machine the
// victim can log ACQUIRED between the two.
// The parent sends the live worker pids over IPC; half the kills aim at a current holder, found with status().
// One strike in four is a SIGSTOP instead, for 50-600 ms, then SIGCONT: a stopped waiter at the front of the line
// must not hold up the ones behind it, and a stopped holder must still be the only one.
//   node chaos.mjs NAME LOGFILE MIN_MS MAX_MS
import { openSync, writeSync } from 'node:fs';
import { status } from '../../dist/index.js';

const [name, logFile, minArg, maxArg] = process.argv.slice(2);
const fd = openSync(logFile, 'a');
let pids = [];
process.on('message', (message) => {
  if (Array.isArray(message.pids)) pids = message.pids;
  if (message.stop) process.exit(0);
});
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

for (;;) {
  await pause(Number(minArg) + Math.random() * (Number(maxArg) - Number(minArg)));
  let target;
  if (Math.random() < 0.5) {
    const holder = await status(name).catch(() => undefined);
    if (holder !== undefined && pids.includes(holder.pid)) target = holder.pid;
  }
  target ??= pids[Math.floor(Math.random() * pids.length)];
  if (target === undefined) continue;
  if (Math.random() < 0.25) {
    try {
      process.kill(target, 'SIGSTOP');
      await pause(50 + Math.random() * 550);
      process.kill(target, 'SIGCONT');
    } catch {}
    continue;
  }
  const before = process.hrtime.bigint();
  try {
    process.kill(target, 'SIGKILL');
  } catch {}
  writeSync(fd, `KILL ${target} ${before} ${process.hrtime.bigint()}\n`);
}
