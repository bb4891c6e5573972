import processTree from '../guard/process-tree.cjs';
import { sleep } from '../sleep.js';

const { findTree, killTree, MARKER_VARIABLE, newMarker, signal } = processTree;

/** How often a stop looks whether the tree is gone, while it waits for the grace time to run out. */
const POLL_MS = 50;
/** After the SIGKILLs: how long to wait for every process to be gone. */
const REAP_WAIT_MS = 3000;


/**
 * The process tree of `run`'s command: the command, everything below it, and everything that carries the tree's
 * marker in its environment (double-forked daemons, processes that left the process group or session). A stop
 * signals all of it and SIGKILLs what is left after the grace time, on every backend (see src/guard/process-tree.cts).
 * @internal
 */
export class CommandTree {
  readonly #marker = newMarker();
  readonly #exclude: number[] = [];
  /** The command's pid while it has not been reaped (its pid cannot be reused until then). */
  #root: number | undefined;

  /** The variables that mark the command's environment (after the markers of any onlyone run we run inside). */
  get env(): Readonly<Record<string, string>> {
    const outer = process.env[MARKER_VARIABLE];
    return { [MARKER_VARIABLE]: outer === undefined || outer === '' ? this.#marker : `${outer} ${this.#marker}` };
  }

  get marker(): string {
    return this.#marker;
  }

  /** A process that is never part of the tree (the lease guard). */
  exclude(pid: number): void {
    this.#exclude.push(pid);
  }

  /** The command's pid while it runs; undefined once it has exited. */
  set root(pid: number | undefined) {
    this.#root = pid;
  }

  /** The live processes of the tree. Without /proc: the command alone. */
  members(): number[] {
    const roots = this.#root === undefined ? [] : [this.#root];
    try {
      return findTree({ roots, marker: this.#marker, exclude: this.#exclude });
    } catch {
      return roots;
    }
  }

  /** Sends `name` to every process of the tree; returns how many got it. */
  signal(name: NodeJS.Signals): number {
    // The command first, before the walk: a shell must get the signal before it can see its child die of it (and
    // live on), and the walk of /proc takes a while on a loaded machine.
    if (this.#root !== undefined) signal(this.#root, name);
    const members = this.members();
    for (const pid of members) if (pid !== this.#root) signal(pid, name);
    return members.length;
  }

  /** Freezes and SIGKILLs the whole tree; returns the pids killed. */
  kill(): number[] {
    const roots = this.#root === undefined ? [] : [this.#root];
    try {
      return killTree({ roots, marker: this.#marker, exclude: this.#exclude });
    } catch {
      for (const pid of roots) signal(pid, 'SIGKILL');
      return roots;
    }
  }

  /**
   * Waits until no process of the tree is left, or until `deadline` (Date.now() ms); then SIGKILLs what is left and
   * waits for it to be gone. Resolves with the pids that had to be killed.
   */
  async drain(deadline: number): Promise<number[]> {
    while (this.members().length > 0 && Date.now() < deadline) await sleep(POLL_MS);
    if (this.members().length === 0) return [];
    const killed = this.kill();
    const until = Date.now() + REAP_WAIT_MS;
    while (this.members().length > 0 && Date.now() < until) await sleep(POLL_MS / 5);
    return killed;
  }
}
