// Summary statistics and table printing shared by the benchmarks.

/** The q-quantile (0..1) of `samples`, by the nearest-rank method. */
export function quantile(samples, q) {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export const median = (samples) => quantile(samples, 0.5);
export const p99 = (samples) => quantile(samples, 0.99);

/** A benchmark row: samples in `unit`, summarised. */
export function summarize({ group, name, unit, samples, note }) {
  return { group, name, unit, n: samples.length, median: median(samples), p99: p99(samples), min: Math.min(...samples), max: Math.max(...samples), ...(note ? { note } : {}), samples };
}

/** Elapsed time since `start` (a process.hrtime.bigint()) in µs. */
export const microsSince = (start) => Number(process.hrtime.bigint() - start) / 1000;

export function formatValue(value, unit) {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'µs' && value >= 1000) return `${(value / 1000).toFixed(2)} ms`;
  if (unit === 'ms' && value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** `row.median / base.median`: how many times the onlyone row's time this row takes. */
export function ratio(row, base) {
  return base && base.median > 0 ? row.median / base.median : Number.NaN;
}

export function formatRatio(value) {
  if (!Number.isFinite(value)) return '';
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`;
}

/**
 * Prints rows grouped by `group`, with each row's median relative to its group's `onlyone` row (the first row
 * whose name starts with "onlyone").
 */
export function printTable(rows, out = process.stdout) {
  const header = ['benchmark', 'n', 'median', 'p99', 'vs onlyone'];
  const lines = [];
  let group;
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      lines.push([`[${group}]`, '', '', '', '']);
    }
    const base = rows.find((r) => r.group === row.group && r.name.startsWith('onlyone'));
    lines.push([`  ${row.name}`, String(row.n ?? ""), formatValue(row.median, row.unit), formatValue(row.p99, row.unit), formatRatio(ratio(row, base))]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  out.write(`${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const l of lines) out.write(`${fmt(l)}\n`);
}

/** Shuffles in place (Fisher-Yates) so interleaved contestants do not always run in the same order. */
export function shuffle(items) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Runs every contestant `block` times in a row per round, the contestants in a new random order each round, and
 * returns the microseconds of each run after `warmup` rounds, leaving out the first run of each block: machine noise
 * then hits every contestant alike, but no contestant pays for the one before it. On this VM the first operation
 * after a process slept, even for a millisecond (proper-lockfile waits on the thread pool), runs several times slower
 * (a raw listen+close: 9.9 µs second in line, 55.9 µs first after a 1 ms timer), and that would land on whichever
 * contestant follows the one that slept.
 */
export async function interleave(contestants, { warmup, rounds, block = 1 }) {
  const samples = Object.fromEntries(Object.keys(contestants).map((k) => [k, []]));
  const blocks = Math.ceil(rounds / Math.max(1, block - (block > 1 ? 1 : 0)));
  const warmupBlocks = Math.ceil(warmup / block);
  for (let round = 0; round < warmupBlocks + blocks; round++) {
    for (const key of shuffle(Object.keys(contestants))) {
      for (let i = 0; i < block; i++) {
        const start = process.hrtime.bigint();
        await contestants[key]();
        const us = microsSince(start);
        if (round >= warmupBlocks && (block === 1 || i > 0)) samples[key].push(us);
      }
    }
  }
  return samples;
}
