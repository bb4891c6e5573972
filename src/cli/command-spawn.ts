import type { StdioOptions } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { constants } from 'node:os';
import type { Caller } from './caller.js';
import { runnable, withDeathSignal } from './death-signal.js';

/** How to spawn `run`'s command. @internal */
export interface CommandSpawn {
  readonly file: string;
  readonly args: readonly string[];
  readonly stdio: StdioOptions;
  /** The lock's descriptor number in the command, when it inherits the lock. */
  readonly lockFd: number | undefined;
}

/**
 * The command as flock(1) would run it: the caller's descriptors at the same numbers, the lock's on the lowest
 * number the caller did not use (ONLYONE_FD), and the caller's ignored signals still ignored. libuv resets every
 * signal to its default in the child, so a shell shim sets them again (`trap '' N`) and execs the command; on a
 * leased lock the command also gets a parent-death signal (see death-signal.ts). A command that cannot be run is
 * spawned as it is, so that the error is onlyone's own.
 * @internal
 */
export function commandSpawn(argv: readonly string[], caller: Caller, lockFd: number | undefined, deathSignal: boolean): CommandSpawn {
  const fds = (caller.fds ?? []).filter(isOpen);
  const slots: Array<'inherit' | 'ignore' | number> = ['inherit', 'inherit', 'inherit'];
  for (const fd of fds) slots[fd] = fd;
  let target: number | undefined;
  if (lockFd !== undefined) {
    target = 3;
    while (fds.includes(target)) target++;
    slots[target] = lockFd;
  }
  for (let i = 0; i < slots.length; i++) slots[i] ??= 'ignore';
  let command: readonly string[] = argv;
  if (caller.ignored.length > 0 && runnable(argv[0] ?? '')) {
    const numbers = caller.ignored.map((name) => constants.signals[name]).join(' ');
    command = ['/bin/sh', '-c', `trap '' ${numbers}; exec "$@"`, 'sh', ...command];
  }
  if (deathSignal) command = withDeathSignal(command) ?? command;
  const [file = '', ...args] = command;
  return { file, args, stdio: slots.length === 3 ? 'inherit' : slots, lockFd: target };
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
