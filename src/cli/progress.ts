import type { Holder } from '../index.js';
import { formatDuration, holderSummary, printable } from './format.js';

/** A live status line while waiting; `stop()` erases it. @internal */
export interface Progress {
  stop(): void;
}

const REDRAW_MS = 1000;
const CLEAR = '\r\u001b[2K';

/**
 * On a terminal (stderr is a TTY), draws one line — name, holder, time waited — and redraws it every
 * second, asking the holder again each time (it may change while we wait). Elsewhere it does nothing.
 * @internal
 */
export function startProgress(name: string, lookup: () => Promise<Holder | undefined>): Progress {
  const stderr = process.stderr;
  if (!stderr.isTTY) return { stop() {} };
  const started = Date.now();
  let holder: Holder | undefined;
  let stopped = false;
  let looking = false;
  const draw = (): void => {
    if (stopped) return;
    const waited = formatDuration(Date.now() - started);
    const about = holder === undefined ? '' : ` (${holderSummary({ ...holder, heldForMs: holder.heldForMs + (Date.now() - seenAt) })})`;
    const line = `onlyone: waiting for ${printable(name)}${about}, waited ${waited}`;
    const width = Math.max(20, (stderr.columns || 80) - 1);
    stderr.write(`${CLEAR}${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
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
