import { readFileSync } from 'node:fs';

/** The parent pid of `pid` from /proc/PID/stat, or undefined when it cannot be read (the process is gone). @internal */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name in parentheses may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** The command line of `pid` from /proc/PID/cmdline; empty when unreadable. @internal */
export function commandLine(pid: number): string[] {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text === '' ? [] : text.replace(/\0$/u, '').split('\0');
  } catch {
    return [];
  }
}
