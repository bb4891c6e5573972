import { readFileSync, statSync } from 'node:fs';
import { processStartTime } from '../holder/hello.js';

export { processStartTime };

/** Clock ticks per second of /proc/PID/stat times: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

let passwd: { mtimeMs: number; byUid: Map<number, string>; byName: Map<string, number> } | undefined;
let checkedAt = 0;
/** /etc/passwd is re-checked at most this often: `list` names thousands of holders in one go. */
const PASSWD_RECHECK_MS = 500;

function users(): { byUid: Map<number, string>; byName: Map<string, number> } {
  const now = Date.now();
  if (passwd !== undefined && now - checkedAt < PASSWD_RECHECK_MS) return passwd;
  checkedAt = now;
  let mtimeMs = -1;
  try {
    mtimeMs = statSync('/etc/passwd').mtimeMs;
  } catch {
    // No /etc/passwd (a minimal container): every user is nameless.
  }
  if (passwd?.mtimeMs === mtimeMs) return passwd;
  const byUid = new Map<number, string>();
  const byName = new Map<string, number>();
  if (mtimeMs >= 0) {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uidText] = line.split(':');
      const uid = Number(uidText);
      if (name === undefined || name === '' || uidText === '' || !Number.isSafeInteger(uid)) continue;
      if (!byUid.has(uid)) byUid.set(uid, name);
      if (!byName.has(name)) byName.set(name, uid);
    }
  }
  passwd = { mtimeMs, byUid, byName };
  return passwd;
}

/** The user name of `uid` from /etc/passwd, or undefined (no entry, e.g. a uid from another user namespace). @internal */
export function userName(uid: number): string | undefined {
  return users().byUid.get(uid);
}

/** The uid of user `name` from /etc/passwd, or undefined. @internal */
export function uidOfUser(name: string): number | undefined {
  return users().byName.get(name);
}

/** The command line of `pid` from /proc/PID/cmdline (NUL-separated), or undefined when unreadable or empty (kernel threads, zombies). @internal */
export function processCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    const args = raw.split('\0');
    if (args.at(-1) === '') args.pop();
    return args;
  } catch {
    return undefined;
  }
}

/** The effective uid of `pid` (the one SO_PEERCRED reports), from /proc/PID/status, or undefined. @internal */
export function processUid(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /^Uid:\s+\d+\s+(\d+)/mu.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** True when `pid` exists and is not a zombie (a zombie has closed every descriptor it had). @internal */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * The pid a pidfd refers to, from /proc/self/fdinfo: -1 once that process has been reaped, so that a pid
 * read before and confirmed here cannot have been reused in between. Undefined when unreadable.
 * @internal
 */
export function pidfdPid(pidfd: number): number | undefined {
  try {
    const match = /^Pid:\s+(-?\d+)/mu.exec(readFileSync(`/proc/self/fdinfo/${pidfd}`, 'latin1'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

let bootTimeMs: number | undefined;

/** When `pid` started, in ms since the epoch (from its start time in ticks and the boot time), or undefined. @internal */
export function processStartedAt(startTime: number): number | undefined {
  if (bootTimeMs === undefined) {
    try {
      const match = /^btime\s+(\d+)/mu.exec(readFileSync('/proc/stat', 'latin1'));
      if (match?.[1] !== undefined) bootTimeMs = Number(match[1]) * 1000;
    } catch {
      return undefined;
    }
  }
  return bootTimeMs === undefined ? undefined : bootTimeMs + (startTime * 1000) / USER_HZ;
}
