// Code blocks of the README and docs/*.md, for test/docs.test.mjs.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The documents whose code blocks are checked. */
export function documents() {
  return ['README.md', ...readdirSync(`${root}docs`).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)];
}

/**
 * Every fenced block of `file`: `{ file, line, lang, words, code }`. `words` are the info string's words after
 * the language (`sh run` marks a shell block the test runs); GitHub shows none of them.
 */
export function codeBlocks(file) {
  const lines = readFileSync(`${root}${file}`, 'utf8').split('\n');
  const blocks = [];
  let open;
  lines.forEach((text, index) => {
    const fence = /^(\s*)(`{3,})(.*)$/u.exec(text);
    if (open === undefined) {
      if (fence === null) return;
      const [lang = '', ...words] = (fence[3] ?? '').trim().split(/\s+/u);
      open = { file, line: index + 1, lang, words, indent: fence[1]?.length ?? 0, fence: fence[2], body: [] };
    } else if (fence !== null && fence[2] === open.fence && (fence[3] ?? '').trim() === '') {
      blocks.push({ file: open.file, line: open.line, lang: open.lang, words: open.words, code: open.body.map((l) => l.slice(open.indent)).join('\n') });
      open = undefined;
    } else {
      open.body.push(text);
    }
  });
  return blocks;
}
