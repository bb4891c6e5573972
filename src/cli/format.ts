import { hostname } from 'node:os';
import type { Holder } from '../index.js';
import { userName } from './passwd.js';

/** Longest command line printed in one-line summaries; the rest becomes "…". */
const MAX_COMMAND_CHARS = 200;

/** `45s`, `3m12s`, `2h05m`, `3d04h`. @internal */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** Makes text from a holder (which may be hostile) safe for a terminal: control characters are escaped. @internal */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/gu, (c) => `\\x${(c.codePointAt(0) ?? 0).toString(16).padStart(2, '0')}`);
}

/** A command line on one line: arguments joined by spaces, those with spaces or quotes (or empty) quoted. @internal */
export function formatCommand(argv: readonly string[], max: number = MAX_COMMAND_CHARS): string {
  const line = argv.map((arg) => (arg === '' || /[\s'"\\]/u.test(arg) ? JSON.stringify(arg) : printable(arg))).join(' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** True when the holder said who it is; false for a socket whose holder sends no hello. @internal */
export function identified(holder: Holder): boolean {
  return holder.pid > 0;
}

/** A holder of a backend that spans machines (postgres) may be on another host: name the host. */
function spansHosts(holder: Holder): boolean {
  return holder.backend === 'postgres' && holder.hostname !== '';
}

/** The holder's user name, or `uid N`, or undefined when its uid is unknown. @internal */
export function userOf(holder: Holder): string | undefined {
  if (holder.user !== undefined) return holder.user;
  // A uid from another machine would be resolved against this machine's users.
  if (spansHosts(holder) && holder.hostname !== hostname()) return holder.uid >= 0 ? `uid ${holder.uid}` : undefined;
  return holder.uid >= 0 ? (userName(holder.uid) ?? `uid ${holder.uid}`) : undefined;
}

/** `pid 4242, user ops, 'rsync -a /src /dst', for 3m12s`: what a conflict line says about the holder. @internal */
export function holderSummary(holder: Holder | undefined): string {
  if (holder === undefined) return 'holder unknown';
  // Say what is known: a full backlog, a socket that does not listen, a flock without a socket...
  if (!identified(holder)) return `holder unknown: ${printable(holder.silentReason ?? holder.unverifiedReason ?? 'it does not answer')}`;
  const parts = [spansHosts(holder) ? `pid ${holder.pid} on ${printable(holder.hostname)}` : `pid ${holder.pid}`];
  const user = userOf(holder);
  if (user !== undefined) parts.push(`user ${printable(user)}`);
  if (holder.argv.length > 0) parts.push(`'${formatCommand(holder.argv)}'`);
  parts.push(`for ${formatDuration(holder.heldForMs)}`);
  // No hello: the kernel named the process, which did not speak the protocol (or inherited the lock).
  if (holder.protocol === 0 && holder.silentReason !== undefined) parts.push(printable(holder.silentReason));
  return parts.join(', ');
}

/** `status` in text: a headline, then one `key: value` line per known fact. @internal */
export function statusText(name: string, holder: Holder): string {
  const lines = [`${printable(name)} is held (${holderSummary(holder)})`];
  if (identified(holder)) {
    lines.push(`  command:  ${formatCommand(holder.argv, Number.POSITIVE_INFINITY)}`);
    if (holder.cwd !== '') lines.push(`  cwd:      ${printable(holder.cwd)}`);
    if (holder.acquiredAt > 0) lines.push(`  since:    ${new Date(holder.acquiredAt).toISOString()}`);
    if (holder.hostname !== '') lines.push(`  host:     ${printable(holder.hostname)}`);
    lines.push(`  identity: ${holder.verified ? 'verified by the kernel' : `unverified (${printable(holder.unverifiedReason ?? 'claimed by the holder')})`}`);
  }
  lines.push(`  backend:  ${holder.backend}${holder.fence === undefined ? '' : `, fence ${printable(holder.fence)}`}`);
  return `${lines.join('\n')}\n`;
}

/** `list` in text: an aligned table with a header, or nothing when no lock is held. @internal */
export function listText(holders: readonly Holder[]): string {
  if (holders.length === 0) return '';
  const rows = holders.map((h) => {
    const known = identified(h);
    const user = ((known ? userOf(h) : undefined) ?? '?') + (h.squatted === true ? ' (squatter)' : '');
    return [printable(h.slot === undefined ? h.name : `${h.name}#${h.slot}`), known ? String(h.pid) : '?', user, known ? formatDuration(h.heldForMs) : '?', known ? formatCommand(h.argv) : printable(h.unverifiedReason ?? '')];
  });
  const table = [['NAME', 'PID', 'USER', 'HELD', 'COMMAND'], ...rows];
  const widths = [0, 1, 2, 3].map((col) => Math.max(...table.map((row) => (row[col] ?? '').length)));
  return table.map((row) => row.map((cell, col) => (col < 4 ? cell.padEnd(widths[col] ?? 0) : cell)).join('  ').trimEnd()).join('\n') + '\n';
}
