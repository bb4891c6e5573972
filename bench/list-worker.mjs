// Helper of bench/list.mjs: `hold PREFIX INDEX COUNT` holds COUNT locks; `hog COUNT` opens /dev/null COUNT times.
import { openSync } from 'node:fs';
import { acquire } from '../dist/index.js';

const [mode, ...args] = process.argv.slice(2);
const held = [];
if (mode === 'hold') {
  const [prefix, index, count] = args;
  for (let i = 0; i < Number(count); i++) held.push(await acquire(`lock-${index}-${i}`, { prefix }));
} else {
  for (let i = 0; i < Number(args[0]); i++) held.push(openSync('/dev/null', 'r'));
}
process.stdout.write('ready\n');
// Hold everything until killed.
setInterval(() => {}, 1 << 30);
