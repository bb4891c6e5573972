// Renders bench/results/*.json as docs/benchmarks.svg: one panel per benchmark group, one bar per Node version
// for each row (the median of the runs' medians, with a whisker from the lowest to the highest run), on a log
// scale per panel, onlyone highlighted. Plain string SVG, no browser or dependency.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMain, root } from './lib/env.mjs';
import { loadResults, summarizeRuns } from './lib/results.mjs';
import { formatValue } from './lib/stats.mjs';

const WIDTH = 860;
const LABEL = 300;
const BAR_MAX = 400;
const BAR = 13;
const escape = (text) => String(text).replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');

export function renderChart(all) {
  const versions = all.map((results) => ({ node: results.machine.node, rows: summarizeRuns(results) }));
  const first = versions[0]?.rows ?? [];
  const groups = [...new Set(first.map((r) => r.group))];
  const parts = [];
  let y = 92;
  for (const group of groups) {
    const names = first.filter((r) => r.group === group).map((r) => r.name);
    const cells = versions.flatMap((v) => v.rows.filter((r) => r.group === group && Number.isFinite(r.median) && r.median > 0));
    if (cells.length === 0) continue;
    const lo = Math.min(...cells.map((r) => Math.min(r.median, r.low))) / 3;
    const hi = Math.max(...cells.map((r) => Math.max(r.median, r.high)));
    const span = Math.log10(hi / lo) || 1;
    const x = (value) => LABEL + Math.max(2, (Math.log10(value / lo) / span) * BAR_MAX);
    parts.push(`<text x="16" y="${y}" class="group">${escape(group)}</text>`);
    y += 8;
    for (const name of names) {
      parts.push(`<text x="${LABEL - 8}" y="${y + 4 + BAR * versions.length / 2 + 4}" class="label" text-anchor="end">${escape(name)}</text>`);
      versions.forEach((version, index) => {
        const row = version.rows.find((r) => r.group === group && r.name === name);
        const top = y + 4 + index * BAR;
        if (row === undefined || !Number.isFinite(row.median) || row.median <= 0) return;
        const own = name.startsWith('onlyone') ? 'own' : 'anchor';
        parts.push(`<rect x="${LABEL}" y="${top}" width="${(x(row.median) - LABEL).toFixed(1)}" height="${BAR - 2}" class="${own} v${index}"/>`);
        if (row.high > row.low) parts.push(`<line x1="${x(row.low).toFixed(1)}" x2="${x(row.high).toFixed(1)}" y1="${top + (BAR - 2) / 2}" y2="${top + (BAR - 2) / 2}" class="whisker"/>`);
        parts.push(`<text x="${(x(Math.max(row.median, row.high)) + 6).toFixed(1)}" y="${top + BAR - 3}" class="value">${escape(`${formatValue(row.median, row.unit)} (Node ${version.node.replace(/^v/u, '').split('.')[0]})`)}</text>`);
      });
      y += 8 + BAR * versions.length;
    }
    y += 24;
  }
  const title = 'onlyone vs anchors: median of the runs\' medians, log scale per panel (shorter is faster)';
  const legend = versions.map((v, i) => `<rect x="${16 + i * 170}" y="52" width="14" height="10" class="anchor v${i}"/><text x="${36 + i * 170}" y="61" class="sub">Node ${escape(v.node.replace(/^v/u, ''))}${i === 0 ? ' (darker)' : ''}</text>`).join('\n');
  const m = all[0]?.machine;
  const subtitle = m === undefined ? 'no results' : `${m.cpu} × ${m.cores}, ${m.date.slice(0, 10)}; whiskers span the lowest to the highest run; onlyone in blue`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .title { font-size: 16px; font-weight: 600; fill: #1f2328; }
  .sub { font-size: 12px; fill: #59636e; }
  .group { font-size: 13px; font-weight: 600; fill: #1f2328; }
  .label { font-size: 12px; fill: #1f2328; }
  .value { font-size: 11px; fill: #59636e; }
  .own.v0 { fill: #1f6feb; } .own.v1 { fill: #8cb4f5; } .own.v2 { fill: #c6dafa; }
  .anchor.v0 { fill: #6e7781; } .anchor.v1 { fill: #afb8c1; } .anchor.v2 { fill: #d0d7de; }
  .whisker { stroke: #1f2328; stroke-width: 1; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="22" class="title">${escape(title)}</text>
<text x="16" y="40" class="sub">${escape(subtitle)}</text>
${legend}
${parts.join('\n')}
</svg>
`;
}

export function writeChart(all = loadResults(), file = join(root, 'docs/benchmarks.svg')) {
  writeFileSync(file, renderChart(all));
}

if (isMain(import.meta.url)) writeChart();
