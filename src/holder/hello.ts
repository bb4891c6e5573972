import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PROTOCOL_VERSION, type Frame } from '../protocol/frames.js';
import type { Holder } from './types.js';

/** What a holder says about itself. @internal */
export interface HelloInput {
  readonly name: string;
  readonly scope: string;
  readonly slot: number | undefined;
  readonly command: readonly string[];
  readonly acquiredAt: number;
  readonly backend: string;
  readonly fence: string | undefined;
  /** The holder's place in the waiters' line when it took the lock (see backends/socket/queue.ts); 0 or absent: none. */
  readonly queueTicket?: number | undefined;
}

/** Keeps hello well under the control-frame cap even for a process with a huge command line. */
const MAX_HELLO_ARGV_CHARS = 16 * 1024;

let ownStartTime: number | undefined | null = null;

/** Start time of a process in clock ticks since boot, field 22 of /proc/PID/stat. @internal */
export function processStartTime(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isSafeInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the hello frame. Runs once per lock, on its first connection. @internal */
export function buildHello(input: HelloInput): Frame {
  if (ownStartTime === null) ownStartTime = processStartTime('self');
  let argv = input.command;
  let total = 0;
  const kept: string[] = [];
  for (const arg of argv) {
    total += arg.length;
    if (total > MAX_HELLO_ARGV_CHARS) break;
    kept.push(arg);
  }
  const truncated = kept.length < argv.length;
  if (truncated) argv = kept;
  return {
    type: 'hello',
    v: PROTOCOL_VERSION,
    name: input.name,
    scope: input.scope,
    ...(input.slot === undefined ? {} : { slot: input.slot }),
    pid: process.pid,
    uid: process.getuid?.() ?? -1,
    ...(ownStartTime === undefined ? {} : { startTime: ownStartTime }),
    hostname: hostname(),
    argv,
    ...(truncated ? { argvTruncated: true } : {}),
    cwd: safeCwd(),
    acquiredAt: input.acquiredAt,
    backend: input.backend,
    ...(input.fence === undefined ? {} : { fence: input.fence }),
    ...(input.queueTicket === undefined || input.queueTicket === 0 ? {} : { queueTicket: input.queueTicket }),
  };
}

/**
 * Reads a hello frame from a peer that may be hostile: every field is type-checked.
 * Returns undefined when the frame is not a usable hello.
 * @internal
 */
export function holderFromHello(frame: Frame, backend: string): Holder | undefined {
  const pid = frame['pid'];
  const uid = frame['uid'];
  // A hello of another protocol version says nothing we can read: the holder counts as unidentified.
  if (frame.type !== 'hello' || frame['v'] !== PROTOCOL_VERSION || !isCount(pid) || !isCount(uid)) return undefined;
  const acquiredAt = isCount(frame['acquiredAt']) ? frame['acquiredAt'] : Date.now();
  const argv = Array.isArray(frame['argv']) ? frame['argv'].filter((arg): arg is string => typeof arg === 'string') : [];
  const slot = frame['slot'];
  const startTime = frame['startTime'];
  const fence = frame['fence'];
  return {
    name: text(frame['name']),
    scope: text(frame['scope']),
    ...(isCount(slot) ? { slot } : {}),
    pid,
    uid,
    hostname: text(frame['hostname']),
    argv,
    cwd: text(frame['cwd']),
    acquiredAt,
    heldForMs: Math.max(0, Date.now() - acquiredAt),
    ...(isCount(startTime) ? { startTime } : {}),
    protocol: isCount(frame['v']) ? frame['v'] : 0,
    verified: false,
    unverifiedReason: 'identity is what the holder claims in its hello',
    backend,
    ...(typeof fence === 'string' ? { fence } : {}),
  };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function safeCwd(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}
