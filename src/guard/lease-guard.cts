// The lease guard of `onlyone run` on a leased backend (postgres).
//
// A lease is renewed by onlyone's heartbeats, and nothing in a stopped or hung process runs. A job-control stop
// (Ctrl-Z, kill -STOP -PGID) also reaches every process in onlyone's process group, its command included. So this
// guard runs as a separate process in its own session. It kills the command's process tree when the lease would run
// out before onlyone renewed it, and at once if onlyone dies. It also holds a copy of the lock's connection (fd 3),
// so after onlyone dies the server frees the lock only when the guard exits, which is after the command is gone.
// And it waits, in poll(2) on a koffi worker thread, for the server to close that connection (restart,
// pg_terminate_backend): the lock is gone then, long before the lease would run out. If onlyone is stopped it cannot
// react, so the guard kills at once; if it runs, it gets a moment to stop the command politely itself.
//
// It is CommonJS because it starts on every leased `run`: Node 20's ESM loader would cost more than the rest of the
// guard. Its one dependency, koffi (for poll and _exit), is optional: without it only the lease deadline guards.
//
// Protocol: lines on stdin, from onlyone.
//   lease NS    the lease runs out at NS (process.hrtime.bigint(): CLOCK_MONOTONIC ns, the same in every process)
//   child PID   the command started (once per run of a loop)
//   exited PID  that command ended
//   lost MS     onlyone lost the lock and is stopping the command itself: kill what is left in MS
//   done        nothing more to guard; exit at end of input
// End of input without `done` means onlyone died.
// argv: the pid of onlyone, the lock name (for messages), and the command tree's marker (may be empty).
import fs = require('node:fs');
import tree = require('./process-tree.cjs');

const owner = Number(process.argv[2]);
const lockName = process.argv[3] ?? '';
/** The marker in the environment of every process of the command's tree (see process-tree.cts). */
const marker = process.argv[4] === undefined || process.argv[4] === '' ? undefined : process.argv[4];
/** After SIGKILL, how long to wait for the tree to be gone before letting the lock go anyway. */
const REAP_WAIT_MS = 3000;
/** After the server closed the connection while onlyone runs: how long it has to say `lost` before the guard acts. */
const REACT_MS = 500;
/** poll(2) events: the peer closed its side; errors and hang-ups are always reported. */
const POLLRDHUP = 0x2000;

const commands = new Map<number, string>();
let deadline: bigint | undefined;
let timer: NodeJS.Timeout | undefined;
let finished = false;
let fired = false;
/** The server closed the connection (seen by poll, perhaps before the first line from onlyone arrived). */
let connectionClosed = false;
/** onlyone said `lost`: it is stopping the command itself, within its grace time. */
let stoppingPolitely = false;
/** How the guard ends; replaced once a poll(2) may be pending on a worker thread. */
let quit = (): void => process.exit(0);

/** The commands still alive as the same processes: with onlyone, the roots of what to kill. */
function roots(): number[] {
  const found: number[] = [];
  for (const [pid, start] of commands) {
    const entry = tree.readStat(pid);
    if (entry !== undefined && entry.start === start && entry.state !== 'Z') found.push(pid);
  }
  return found;
}

async function fire(why: string): Promise<void> {
  fired = true;
  clearTimeout(timer);
  let victims: number[];
  try {
    // onlyone's children (the command, an --on-message handler) and all below them, the tree's marked processes.
    victims = tree.killTree({ roots: [owner, ...roots()], marker, exclude: [owner] });
  } catch (error) {
    // No /proc to walk: the commands onlyone named are all that can be found.
    victims = [...commands.keys()];
    for (const pid of victims) tree.signal(pid, 'SIGKILL');
    process.stderr.write(`onlyone: cannot list processes (${(error as Error).message})\n`);
  }
  const until = Date.now() + REAP_WAIT_MS;
  while (victims.some((pid) => !tree.gone(pid)) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 2));
  if (victims.length > 0) process.stderr.write(`onlyone: ${why}; killed pid ${victims.join(', ')}\n`);
}

function schedule(): void {
  clearTimeout(timer);
  if (deadline === undefined || finished || fired) return;
  const left = Number(deadline - process.hrtime.bigint()) / 1e6;
  if (left > 0) {
    timer = setTimeout(schedule, Math.ceil(left));
    return;
  }
  void fire(`the lease on ${lockName} ran out while onlyone (pid ${owner}) was stopped or not responding`);
}

function onLine(line: string): void {
  const [verb, value = ''] = line.split(' ');
  if (verb === 'lease' && /^\d+$/u.test(value)) {
    deadline = BigInt(value);
    schedule();
  } else if (verb === 'child' && /^\d+$/u.test(value)) {
    const entry = tree.readStat(Number(value));
    if (entry !== undefined) commands.set(Number(value), entry.start);
    if (fired) void fire(`the lock on ${lockName} was already lost when command pid ${value} started`);
  } else if (verb === 'exited') {
    commands.delete(Number(value));
  } else if (verb === 'lost' && /^\d+$/u.test(value)) {
    stoppingPolitely = true;
    deadline = process.hrtime.bigint() + BigInt(value) * 1_000_000n;
    schedule();
  } else if (verb === 'done') {
    finished = true;
    clearTimeout(timer);
  }
  reactToClose();
}

/**
 * The lock is gone once the server closed the connection. A stopped onlyone cannot react: kill now. A running one
 * sees the close too and says `lost`; unless it already did, it gets REACT_MS before the guard acts.
 */
function reactToClose(): void {
  if (!connectionClosed || finished || fired || deadline === undefined) return;
  const state = tree.readStat(owner)?.state;
  if (state === 'T' || state === 't') {
    void fire(`the server closed the connection holding ${lockName} while onlyone (pid ${owner}) was stopped`);
    return;
  }
  if (stoppingPolitely) return;
  const soon = process.hrtime.bigint() + BigInt(REACT_MS) * 1_000_000n;
  if (soon < deadline) {
    deadline = soon;
    schedule();
  }
}

/** Calls back once the server has closed the connection (fd 3). No koffi, or no fd 3: only the deadline guards. */
function onConnectionClosed(callback: () => void): void {
  try {
    if (!fs.fstatSync(3).isSocket()) return;
  } catch {
    return;
  }
  type Poll = { async(fds: Buffer, count: number, timeout: number, done: (error: unknown, ready: number) => void): void };
  let poll: Poll;
  try {
    const koffi = require('koffi') as { load(path: string | null): { func(definition: string): unknown } };
    let libc;
    try {
      libc = koffi.load(null);
    } catch {
      libc = koffi.load('libc.so.6');
    }
    poll = libc.func('int poll(_Inout_ void *, unsigned long, int)') as Poll;
    const exitNow = libc.func('void _exit(int)') as (status: number) => void;
    // exit() would wait for libuv's threadpool, where our poll never returns until the server closes the connection:
    // the lock would be freed only then. _exit() closes everything at once; nothing is left to flush (stderr is
    // synchronous on Linux).
    quit = (): void => exitNow(0);
  } catch (error) {
    process.stderr.write(`onlyone: the lease guard cannot watch the connection (${(error as Error).message}); only the lease deadline guards the command\n`);
    return;
  }
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(3, 0);
  fds.writeInt16LE(POLLRDHUP, 4);
  const wait = (): void =>
    poll.async(fds, 1, -1, (error, ready) => {
      // EINTR and the like: wait again. Anything ready is the close (or an error) of the connection.
      if (error !== null && error !== undefined) wait();
      else if (ready === 1) callback();
      else wait();
    });
  wait();
}

onConnectionClosed(() => {
  connectionClosed = true;
  reactToClose();
});

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
    onLine(pending.slice(0, end));
    pending = pending.slice(end + 1);
  }
});
process.stdin.on('end', () => {
  const last = finished || fired ? Promise.resolve() : fire(`onlyone (pid ${owner}) ended while holding ${lockName}`);
  // Exiting closes fd 3, our copy of the connection: only now may the server see the session end.
  void last.finally(() => quit());
});
process.stdin.on('error', () => quit());
