// Reads the built CLI's own help (`onlyone --help`, `onlyone help COMMAND`) into a small model that the man
// page and the shell completions are written from, so neither can drift from --help.
import { execFileSync } from 'node:child_process';

/**
 * @typedef {{ term: string, text: string }} Entry  one row of a definition list ("  --flag ARG   what it does")
 * @typedef {{ kind: 'list', title: string, entries: Entry[] } | { kind: 'text', text: string }} Block
 * @typedef {{ flag: string, takesValue: boolean, values: string[], summary: string }} Flag
 * @typedef {{ name: string, usage: string, summary: string, blocks: Block[], flags: Flag[] }} Command
 */

/** The help of `cli` (a path to dist/cli/main.js) for each command, and the program's own. */
export function readHelp(cli) {
  const help = (...args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const main = parseHelp(help('--help'));
  const commandList = main.blocks.find((block) => block.kind === 'list' && block.title === 'Commands:');
  if (commandList === undefined) throw new Error('onlyone --help has no "Commands:" list');
  const commands = commandList.entries
    .map((entry) => ({ name: entry.term.split(' ')[0], summary: entry.text }))
    .filter(({ name }) => name !== 'help')
    .map(({ name, summary }) => ({ ...parseHelp(help('help', name)), name, summary }));
  return { main, commands, version: help('--version').trim().replace(/^onlyone /u, '') };
}

/** Parses one help text: the usage line, then blocks separated by blank lines. */
export function parseHelp(text) {
  const [usageLine = '', ...rest] = text.trimEnd().split('\n');
  const blocks = [];
  for (const chunk of rest.join('\n').split(/\n\s*\n/u)) {
    const lines = chunk.split('\n').filter((line) => line.trim() !== '');
    if (lines.length === 0) continue;
    const [first = '', ...more] = lines;
    if (first.endsWith(':') && more.length > 0 && more.every((line) => line.startsWith('  '))) {
      blocks.push({ kind: 'list', title: first, entries: entries(more) });
    } else if (lines.every((line) => line.startsWith('  '))) {
      blocks.push({ kind: 'list', title: 'Options:', entries: entries(lines) });
    } else {
      blocks.push({ kind: 'text', text: lines.map((line) => line.trim()).join(' ') });
    }
  }
  const flags = blocks.flatMap((block) => (block.kind === 'list' && /options/iu.test(block.title) ? block.entries.flatMap(flagsOf) : []));
  return { usage: usageLine.replace(/^Usage:\s*/u, ''), blocks, flags };
}

/** Rows start at two spaces; deeper lines continue the row before (the term may stand alone on its line). */
function entries(lines) {
  const rows = [];
  for (const line of lines) {
    const row = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/u.exec(line);
    if (row !== null) {
      rows.push({ term: row[1] ?? '', text: row[2] ?? '' });
    } else if (rows.length > 0) {
      const last = rows[rows.length - 1];
      last.text = `${last.text} ${line.trim()}`.trim();
    }
  }
  return rows;
}

/** "-w, --wait [SECONDS]" gives -w and --wait; "--scope user|system" takes one of two values. */
function flagsOf(entry) {
  const spellings = entry.term.split(/,\s*/u);
  const argument = /^\S+\s+(.+)$/u.exec(spellings[spellings.length - 1] ?? '')?.[1];
  const takesValue = argument !== undefined && !argument.startsWith('[');
  const values = argument !== undefined && /^[a-z]+(?:\|[a-z]+)+$/u.test(argument) ? argument.split('|') : [];
  const summary = entry.text.split(/;\s/u)[0]?.trim() ?? '';
  // A row of prose inside an option table ("flock's NAME is a file; ...") names no flag.
  return spellings
    .map((spelling) => ({ flag: spelling.split(/\s/u)[0] ?? '', takesValue, values, summary }))
    .filter(({ flag }) => /^--?[A-Za-z][\w-]*$/u.test(flag));
}
