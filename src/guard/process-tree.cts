// The command's process tree, as onlyone and its lease guard find it to signal or kill it. One mechanism for every
// backend (see docs/postgres.md#the-command-tree):
// - the descendants of the roots, read from /proc/PID/task/TID/children (a process still in the tree);
// - every process whose environment carries the tree's marker (ONLYONE_TREE=<token>, set in the command's
//   environment and inherited by everything it starts): this finds double-forked daemons and processes that left
//   the process group or the session, which the kernel reparented away from the tree. A process that clears its
//   environment (env -i, sudo) AND leaves the tree is not found; /proc/PID/environ of another user is readable only
//   by root.
// - Before a SIGKILL, each process found is SIGSTOPped before its children are read, so none can fork away between
//   the walk and the kill; rounds repeat until no new process appears.
// CommonJS: the lease guard (CommonJS for its start-up time) requires it; the CLI bundle imports it.
import fs = require('node:fs');

/** The environment variable that marks every process of a command's tree. */
const MARKER_VARIABLE = 'ONLYONE_TREE';
/** A process that keeps forking gets this many rounds of SIGSTOP before the SIGKILLs. */
const FREEZE_ROUNDS = 20;

/** What identifies one command tree. @internal */
interface TreeSpec {
  /** Processes whose descendants belong to the tree (the command; for the guard, onlyone too). */
  readonly roots: readonly number[];
  /** The marker's value in the command's environment, or undefined for none. */
  readonly marker: string | undefined;
  /** Processes never counted in the tree (onlyone itself, the guard). */
  readonly exclude: readonly number[];
}

interface ProcessEntry {
  readonly ppid: number;
  readonly state: string;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  readonly start: string;
}

/** A fresh marker value: unique per onlyone process and run. @internal */
function newMarker(): string {
  return `${process.pid}.${process.hrtime.bigint()}`;
}

/** `pid`'s state, parent and start time from /proc/PID/stat, or undefined once it is gone. @internal */
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

/** Whether `pid` has ended (gone, or a zombie that can do nothing more). @internal */
function gone(pid: number): boolean {
  const entry = readStat(pid);
  return entry === undefined || entry.state === 'Z' || entry.state === 'X';
}

function numericEntries(): number[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/u.test(name)).map(Number);
}

/**
 * The children of `pid`, from /proc/PID/task/TID/children (one file per thread: a child belongs to the thread that
 * forked it), or from a scan of every /proc/PID/stat on kernels built without that file.
 */
function childrenOf(pid: number): number[] {
  try {
    const found: number[] = [];
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      for (const child of fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').split(' ')) {
        if (child !== '') found.push(Number(child));
      }
    }
    return found;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(`/proc/${pid}`)) return [];
  }
  return numericEntries().filter((other) => readStat(other)?.ppid === pid);
}

/** Every live process whose environment carries `marker` (those this user may read). */
function marked(marker: string): number[] {
  const prefix = `${MARKER_VARIABLE}=`;
  const found: number[] = [];
  for (const pid of numericEntries()) {
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or another user's
    }
    const start = environ.startsWith(prefix) ? 0 : environ.indexOf(`\0${prefix}`) + 1;
    if (start === 0 && !environ.startsWith(prefix)) continue;
    const end = environ.indexOf('\0', start);
    // A list: an onlyone run inside another's command adds its own marker after its parent's.
    const markers = environ.slice(start + prefix.length, end === -1 ? undefined : end).split(' ');
    if (markers.includes(marker) && !gone(pid)) found.push(pid);
  }
  return found;
}

/** The live processes of the tree now (no freezing): for polite signals. @internal */
function findTree(spec: TreeSpec): number[] {
  const excluded = new Set([process.pid, ...spec.exclude]);
  const found = new Set<number>();
  // An excluded root (the guard's owner, onlyone) is not part of the tree, but its children are.
  const pending = spec.roots.flatMap((pid) => (excluded.has(pid) ? childrenOf(pid) : [pid]));
  if (spec.marker !== undefined) pending.push(...marked(spec.marker));
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    if (excluded.has(pid) || found.has(pid) || gone(pid)) continue;
    found.add(pid);
    pending.push(...childrenOf(pid));
  }
  return [...found];
}

/**
 * Every live process of the tree, each SIGSTOPped before its children are read, so that none can fork away between
 * the walk and the SIGKILLs; repeated until a round finds nothing new. @internal
 */
function freezeTree(spec: TreeSpec): number[] {
  const frozen = new Set<number>();
  for (let round = 0; round < FREEZE_ROUNDS; round++) {
    const before = frozen.size;
    for (const pid of findTree({ ...spec, roots: [...spec.roots, ...frozen] })) {
      if (frozen.has(pid)) continue;
      signal(pid, 'SIGSTOP');
      frozen.add(pid);
    }
    if (frozen.size === before) break;
  }
  return [...frozen];
}

/** Sends `name` to `pid`, ignoring a process that is already gone. @internal */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/** Freezes the whole tree, then SIGKILLs every process of it. Returns the pids killed. @internal */
function killTree(spec: TreeSpec): number[] {
  const victims = freezeTree(spec);
  for (const pid of victims) signal(pid, 'SIGKILL');
  return victims;
}

/** What this module offers (CommonJS: one object). @internal */
interface ProcessTree {
  readonly MARKER_VARIABLE: string;
  newMarker(): string;
  readStat(pid: number): ProcessEntry | undefined;
  gone(pid: number): boolean;
  findTree(spec: TreeSpec): number[];
  freezeTree(spec: TreeSpec): number[];
  killTree(spec: TreeSpec): number[];
  signal(pid: number, name: NodeJS.Signals): void;
}

const processTree: ProcessTree = { MARKER_VARIABLE, newMarker, readStat, gone, findTree, freezeTree, killTree, signal };
export = processTree;
