// Renders bench/results.json as docs/benchmarks.svg: one panel per benchmark group, medians as bars on a log
// scale, onlyone highlighted. Plain string SVG, no browser or dependency.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMain, root } from './lib/env.mjs';
import { formatValue } from './lib/stats.mjs';

const WIDTH = 820;
const LABEL = 300;
const BAR_MAX = 400;
const ROW = 22;
const escape = (text) => String(text).replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');

export function renderChart(results) {
  const groups = [...new Set(results.rows.map((r) => r.group))];
  const parts = [];
  let y = 72;
  for (const group of groups) {
    const rows = results.rows.filter((r) => r.group === group && Number.isFinite(r.median) && r.median > 0);
    if (rows.length === 0) continue;
    const lo = Math.min(...rows.map((r) => r.median)) / 3;
    const hi = Math.max(...rows.map((r) => r.median));
    const span = Math.log10(hi / lo) || 1;
    parts.push(`<text x="16" y="${y}" class="group">${escape(group)}</text>`);
    y += 10;
    for (const row of rows) {
      const width = Math.max(2, (Math.log10(row.median / lo) / span) * BAR_MAX);
      const own = row.name.startsWith('onlyone');
      parts.push(
        `<text x="${LABEL - 8}" y="${y + 15}" class="label" text-anchor="end">${escape(row.name)}</text>`,
        `<rect x="${LABEL}" y="${y + 4}" width="${width.toFixed(1)}" height="${ROW - 8}" rx="2" class="${own ? 'own' : 'anchor'}"/>`,
        `<text x="${(LABEL + width + 6).toFixed(1)}" y="${y + 15}" class="value">${escape(formatValue(row.median, row.unit))}</text>`,
      );
      y += ROW;
    }
    y += 26;
  }
  const m = results.machine;
  const title = `onlyone vs anchors: medians, log scale per panel (shorter is faster)`;
  const subtitle = `Node ${m.node}, ${m.cpu} × ${m.cores}, ${m.date.slice(0, 10)}${results.quick ? ', quick run' : ''}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .title { font-size: 16px; font-weight: 600; fill: #1f2328; }
  .sub { font-size: 12px; fill: #59636e; }
  .group { font-size: 13px; font-weight: 600; fill: #1f2328; }
  .label { font-size: 12px; fill: #1f2328; }
  .value { font-size: 12px; fill: #59636e; }
  .own { fill: #1f6feb; }
  .anchor { fill: #9aa5b1; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="22" class="title">${escape(title)}</text>
<text x="16" y="40" class="sub">${escape(subtitle)}</text>
${parts.join('\n')}
</svg>
`;
}

export function writeChart(results, file = join(root, 'docs/benchmarks.svg')) {
  writeFileSync(file, renderChart(results));
}

if (isMain(import.meta.url)) writeChart(JSON.parse(readFileSync(join(root, 'bench/results.json'), 'utf8')));
