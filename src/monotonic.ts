/**
 * Milliseconds on the monotonic clock (CLOCK_MONOTONIC), for deadlines and durations within one process.
 * `performance.now()` would do, but reaching `performance` loads `perf_hooks` and eight internal modules at start-up,
 * which costs the CLI about a millisecond on every run.
 * @internal
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
