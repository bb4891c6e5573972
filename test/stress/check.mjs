// The stress checker: rebuilds every critical section from the logs and proves that at most `limit`
// overlapped at any instant. A SIGKILLed holder's section ends at its kill, as logged by whoever killed it:
// `KILL pid before after`, the clock read just before kill() and just after it returned. The victim died
// somewhere after `before`; it logged nothing after `after`. A section that started between the two (the killer
// was preempted after reading the clock) ends where it started: the victim died right after logging it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function readRecords(dir) {
  const records = [];
  for (const file of readdirSync(dir)) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    // The last piece has no newline: a record cut short (it cannot be, with one small write, but never trust it).
    lines.pop();
    for (const line of lines) {
      const match = /^(?:(WAIT|ACQUIRED|RELEASED) (\d+) (\d+)|(KILL) (\d+) (\d+) (\d+))$/u.exec(line);
      if (match === null) throw new Error(`${file}: malformed record ${JSON.stringify(line)}`);
      if (match[4] === undefined) records.push({ kind: match[1], pid: Number(match[2]), t: BigInt(match[3]) });
      else records.push({ kind: match[4], pid: Number(match[5]), t: BigInt(match[6]), after: BigInt(match[7]) });
    }
  }
  return records.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
}

/**
 * Checks the logs in `dir`. Returns the sections, the most that ever overlapped, the violations (instants
 * where more than `limit` overlapped), the longest and the average completed wait, and the longest wait cut short
 * by a kill.
 */
export function check(dir, limit) {
  const records = readRecords(dir);
  const kills = new Map();
  for (const r of records) if (r.kind === 'KILL' && !kills.has(r.pid)) kills.set(r.pid, []);
  for (const r of records) if (r.kind === 'KILL') kills.get(r.pid).push(r);
  const open = new Map();
  const waiting = new Map();
  const sections = [];
  const unended = [];
  let longestWait = 0n;
  let totalWait = 0n;
  let waits = 0;
  let longestCutWait = 0n;
  for (const r of records) {
    if (r.kind === 'WAIT') waiting.set(r.pid, r.t);
    else if (r.kind === 'ACQUIRED') {
      const since = waiting.get(r.pid);
      if (since !== undefined && r.t - since > longestWait) longestWait = r.t - since;
      if (since !== undefined) {
        totalWait += r.t - since;
        waits++;
      }
      waiting.delete(r.pid);
      open.set(r.pid, r.t);
    } else if (r.kind === 'RELEASED') {
      const start = open.get(r.pid);
      if (start !== undefined) sections.push({ pid: r.pid, start, end: r.t, killed: false });
      open.delete(r.pid);
    }
  }
  // The kill that ended what began at `since`: the first whose kill() returned after it.
  const killAfter = (pid, since) => kills.get(pid)?.find((kill) => kill.after >= since);
  const later = (a, b) => (a > b ? a : b);
  for (const [pid, start] of open) {
    const kill = killAfter(pid, start);
    if (kill === undefined) unended.push({ pid, start: String(start), kills: (kills.get(pid) ?? []).map((k) => `${k.t}..${k.after}`) });
    else sections.push({ pid, start, end: later(kill.t, start), killed: true });
  }
  for (const [pid, since] of waiting) {
    const kill = killAfter(pid, since);
    if (kill !== undefined && later(kill.t, since) - since > longestCutWait) longestCutWait = later(kill.t, since) - since;
  }
  // Sweep: ends sort before starts at the same instant.
  const events = sections.flatMap((s) => [{ t: s.start, d: 1, s }, { t: s.end, d: -1, s }]);
  events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.d - b.d));
  let inside = 0;
  let maxOverlap = 0;
  const active = new Set();
  const violations = [];
  for (const e of events) {
    inside += e.d;
    if (e.d === 1) active.add(e.s);
    else active.delete(e.s);
    maxOverlap = Math.max(maxOverlap, inside);
    if (inside > limit && violations.length < 10) violations.push([...active].map((s) => ({ pid: s.pid, start: String(s.start), end: String(s.end), killed: s.killed })));
  }
  return {
    sections: sections.length,
    killedHolders: sections.filter((s) => s.killed).length,
    kills: [...kills.values()].reduce((n, list) => n + list.length, 0),
    maxOverlap,
    violations,
    unended,
    longestWaitMs: Number(longestWait) / 1e6,
    averageWaitMs: waits === 0 ? 0 : Number(totalWait) / waits / 1e6,
    longestCutWaitMs: Number(longestCutWait) / 1e6,
  };
}
