// Keeps the README's exit-status table equal to src/cli/exit-codes.ts, its one source of truth.
//   node scripts/readme-tables.mjs           rewrite the table between the exit-codes markers
//   node scripts/readme-tables.mjs --check   exit 1, saying so, when the README differs
// The CLI is bundled into dist/cli/main.js, so the table is read from the TypeScript source, transpiled here.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const source = readFileSync(fileURLToPath(new URL('../src/cli/exit-codes.ts', import.meta.url)), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
/** The exit-codes module, as the CLI has it. */
export const exitCodes = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
const { exitStatusTable } = exitCodes;

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const BEGIN = '<!-- exit-codes:begin (generated from src/cli/exit-codes.ts by npm run docs:exit-codes) -->';
const END = '<!-- exit-codes:end -->';

/** The README with its exit-status table regenerated. */
export function withExitTable(text) {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin === -1 || end < begin) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
  return `${text.slice(0, begin + BEGIN.length)}\n${exitStatusTable()}\n${text.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = readFileSync(readme, 'utf8');
  const wanted = withExitTable(text);
  if (process.argv.includes('--check')) {
    if (wanted !== text) {
      console.error('README.md: the exit-status table differs from src/cli/exit-codes.ts; run npm run docs:exit-codes');
      process.exit(1);
    }
  } else if (wanted !== text) {
    writeFileSync(readme, wanted);
  }
}
