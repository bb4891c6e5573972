import type { Holder } from '../index.js';
import { formatDuration, holderSummary, printable } from './format.js';

/** A live status line while waiting; `stop()` erases it. @internal */
export interface Progress {
  stop(): void;
}

const REDRAW_MS = 1000;
const CLEAR = '\r\u001b[2K';

/**
 * The waiting line for a terminal `columns` wide: the holder's description is shortened first, so the
 * time waited always shows. @internal
 */
export function fitWaitingLine(name: string, about: string, waited: string, columns: number): string {
  const head = `onlyone: waiting for ${printable(name)}`;
  const tail = `, waited ${waited}`;
  const width = Math.max(20, columns - 1);
  const room = width - head.length - tail.length;
  if (about.length <= room) return `${head}${about}${tail}`;
  if (room >= 6) return `${head}${about.slice(0, room - 2)}…)${tail}`;
  if (head.length + tail.length <= width) return `${head}${tail}`;
  return `${head.slice(0, Math.max(1, width - tail.length - 1))}…${tail}`;
}

/**
 * On a terminal (stderr is a TTY), draws one line — name, holder, time waited — and redraws it every
 * second, asking the holder again each time (it may change while we wait). With TERM=dumb, which cannot
 * erase a line, it writes one plain line once. Elsewhere, or when `quiet`, it does nothing.
 * @internal
 */
export function startProgress(name: string, lookup: () => Promise<Holder | undefined>, quiet = false): Progress {
  const stderr = process.stderr;
  if (!stderr.isTTY || quiet) return { stop() {} };
  if (process.env['TERM'] === 'dumb') {
    stderr.write(`onlyone: waiting for ${printable(name)}\n`);
    return { stop() {} };
  }
  const started = Date.now();
  let holder: Holder | undefined;
  let stopped = false;
  let looking = false;
  const draw = (): void => {
    if (stopped) return;
    const waited = formatDuration(Date.now() - started);
    const about = holder === undefined ? '' : ` (${holderSummary({ ...holder, heldForMs: holder.heldForMs + (Date.now() - seenAt) })})`;
    stderr.write(`${CLEAR}${fitWaitingLine(name, about, waited, stderr.columns || 80)}`);
  };
  let seenAt = Date.now();
  const refresh = (): void => {
    draw();
    if (looking) return;
    looking = true;
    lookup()
      .then((found) => {
        if (found !== undefined) {
          holder = found;
          seenAt = Date.now();
        }
      }, () => {})
      .finally(() => {
        looking = false;
        draw();
      });
  };
  const timer = setInterval(refresh, REDRAW_MS);
  timer.unref();
  // A signal that kills us while waiting should not leave a half-drawn line behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    stop();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.once(signal, onSignal);
  refresh();
  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const signal of signals) process.off(signal, onSignal);
    stderr.write(CLEAR);
  }
  return { stop };
}
