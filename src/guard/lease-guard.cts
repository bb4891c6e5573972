// The lease guard of `onlyone run` on a leased backend (postgres).
//
// A lease is renewed by onlyone's heartbeats, and nothing in a stopped or hung process runs. A job-control stop
// (Ctrl-Z, kill -STOP -PGID) also reaches every process in onlyone's process group, its command included. So this
// guard runs as a separate process in its own session. It kills the command's process tree when the lease would run
// out before onlyone renewed it, and at once if onlyone dies. It also holds a copy of the lock's connection (fd 3),
// so after onlyone dies the server frees the lock only when the guard exits, which is after the command is gone.
// While onlyone is stopped, the guard also watches that connection's TCP state: a server that ends the session
// (restart, pg_terminate_backend) frees the lock at once, long before the lease would run out.
//
// It is CommonJS without dependencies because it starts on every leased `run`: Node 20's ESM loader would cost more
// than the rest of the guard.
//
// Protocol: lines on stdin, from onlyone.
//   lease NS    the lease runs out at NS (process.hrtime.bigint(): CLOCK_MONOTONIC ns, the same in every process)
//   child PID   the command started (once per run of a loop)
//   exited PID  that command ended
//   lost MS     onlyone lost the lock and is stopping the command itself: kill what is left in MS
//   done        nothing more to guard; exit at end of input
// End of input without `done` means onlyone died.
// argv: the pid of onlyone, and the lock name (for messages).
import fs = require('node:fs');

interface ProcessEntry {
  readonly ppid: number;
  readonly state: string;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  readonly start: string;
}

const owner = Number(process.argv[2]);
const lockName = process.argv[3] ?? '';
/** After SIGKILL, how long to wait for the tree to be gone before letting the lock go anyway. */
const REAP_WAIT_MS = 3000;
/** A process that keeps forking gets this many rounds of SIGSTOP before the SIGKILLs. */
const FREEZE_ROUNDS = 20;
/** How often onlyone's state is read, and while it is stopped, the connection's. */
const WATCH_MS = 50;
/** TCP_ESTABLISHED in /proc/net/tcp; the server's FIN makes it CLOSE_WAIT, a reset removes the socket. */
const ESTABLISHED = '01';

const commands = new Map<number, string>();
let deadline: bigint | undefined;
let timer: NodeJS.Timeout | undefined;
let finished = false;
let fired = false;

/** The inode of our copy of the lock's connection (fd 3), if it is a TCP socket: the key of its /proc/net/tcp row. */
const connection = ((): string | undefined => {
  try {
    const inode = String(fs.fstatSync(3).ino);
    return tcpState(inode) === undefined ? undefined : inode;
  } catch {
    return undefined;
  }
})();

/** The state of the TCP socket with this inode (hex, as in /proc/net/tcp), or undefined if it is in neither table. */
function tcpState(inode: string): string | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/u);
      if (fields[9] === inode) return fields[3];
    }
  }
  return undefined;
}

/** While onlyone is stopped it cannot see its connection close: the guard looks for it. Reading /proc is cheap. */
function watch(): void {
  if (connection === undefined || finished || fired || deadline === undefined) return;
  const state = readStat(owner)?.state;
  if ((state === 'T' || state === 't') && tcpState(connection) !== ESTABLISHED) {
    void fire(`the server closed the connection holding ${lockName} while onlyone (pid ${owner}) was stopped`);
  }
}

function readStat(pid: number): ProcessEntry | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function processTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/u.test(name)) continue;
    const entry = readStat(Number(name));
    if (entry !== undefined) table.set(Number(name), entry);
  }
  return table;
}

/** The commands still alive as the same processes, and onlyone if it still runs: the roots of what to kill. */
function roots(): number[] {
  const found: number[] = [];
  for (const [pid, start] of commands) {
    const entry = readStat(pid);
    if (entry !== undefined && entry.start === start && entry.state !== 'Z') found.push(pid);
  }
  return found;
}

/** Every live descendant of onlyone and of the commands, except this guard; stopped first so none can fork away. */
function freezeTree(): number[] {
  const frozen = new Set<number>();
  for (let round = 0; round < FREEZE_ROUNDS; round++) {
    const table = processTable();
    const parents = new Set<number>([owner, ...roots(), ...frozen]);
    let added = false;
    for (const [pid, entry] of table) {
      if (pid === process.pid || frozen.has(pid) || !parents.has(entry.ppid) || entry.state === 'Z') continue;
      signal(pid, 'SIGSTOP');
      frozen.add(pid);
      parents.add(pid);
      added = true;
    }
    if (!added) break;
  }
  for (const pid of roots()) frozen.add(pid);
  return [...frozen];
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

function gone(pid: number): boolean {
  const entry = readStat(pid);
  return entry === undefined || entry.state === 'Z' || entry.state === 'X';
}

async function fire(why: string): Promise<void> {
  fired = true;
  clearTimeout(timer);
  let victims: number[];
  try {
    victims = freezeTree();
  } catch (error) {
    // No /proc to walk: the commands onlyone named are all that can be found.
    victims = [...commands.keys()];
    process.stderr.write(`onlyone: cannot list processes (${(error as Error).message})\n`);
  }
  for (const pid of victims) signal(pid, 'SIGKILL');
  const until = Date.now() + REAP_WAIT_MS;
  while (victims.some((pid) => !gone(pid)) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 2));
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
    const entry = readStat(Number(value));
    if (entry !== undefined) commands.set(Number(value), entry.start);
    if (fired) void fire(`the lock on ${lockName} was already lost when command pid ${value} started`);
  } else if (verb === 'exited') {
    commands.delete(Number(value));
  } else if (verb === 'lost' && /^\d+$/u.test(value)) {
    deadline = process.hrtime.bigint() + BigInt(value) * 1_000_000n;
    schedule();
  } else if (verb === 'done') {
    finished = true;
    clearTimeout(timer);
  }
}

setInterval(watch, WATCH_MS).unref();

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
  void last.finally(() => process.exit(0));
});
process.stdin.on('error', () => process.exit(0));
