import { UsageError } from './parsed.js';

/** The pauses of a restart loop (`--keep-running`, `--until-success`, `--until-failure`). @internal */
export interface LoopDelays {
  /** `--restart-delay`: the pause after a run that succeeded or ran long enough, and the first one. */
  readonly firstMs: number;
  /** `--max-delay`: the longest pause; also how long a run must last to count as healthy (10 s at least). */
  readonly maxMs: number;
}

const DEFAULT_FIRST_SECONDS = 1;
const DEFAULT_MAX_SECONDS = 60;
/** However short --max-delay is, a run shorter than this is not evidence that the command is healthy. */
const MIN_HEALTHY_RUN_MS = 10_000;

/**
 * The loop's pauses from `--restart-delay` and `--max-delay` (seconds; undefined when not given).
 * @throws UsageError when the first pause is longer than the longest.
 * @internal
 */
export function loopDelays(restartSeconds: number | undefined, maxSeconds: number | undefined): LoopDelays {
  const first = restartSeconds ?? DEFAULT_FIRST_SECONDS;
  const max = maxSeconds ?? Math.max(first, DEFAULT_MAX_SECONDS);
  if (first > max) throw new UsageError(`--restart-delay (${first}s) cannot be longer than --max-delay (${max}s)`, 'run');
  return { firstMs: Math.round(first * 1000), maxMs: Math.round(max * 1000) };
}

/**
 * Exponential backoff for a restart loop that forgives: a run that succeeded, or that lasted at least
 * the longest pause (and 10 s), is not part of a crash loop, so the next pause is the first one again.
 * Only runs that fail quickly one after another double the pause, up to the longest.
 * @internal
 */
export class Backoff {
  readonly #delays: LoopDelays;
  #next: number;

  constructor(delays: LoopDelays) {
    this.#delays = delays;
    this.#next = delays.firstMs;
  }

  /** The pause before the next run, given how the last one went. */
  after(run: { readonly lastedMs: number; readonly succeeded: boolean }): number {
    const { firstMs, maxMs } = this.#delays;
    if (run.succeeded || run.lastedMs >= Math.max(maxMs, MIN_HEALTHY_RUN_MS)) this.#next = firstMs;
    const pause = this.#next;
    this.#next = Math.min(Math.max(pause * 2, firstMs), maxMs);
    return pause;
  }
}
