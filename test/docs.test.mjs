// The documentation is true: every TypeScript/JavaScript block of README.md and docs/*.md type-checks against
// the built dist/index.d.ts (through the package's own exports map), and the shell blocks marked `sh run` run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { codeBlocks, documents } from './docs/blocks.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
const blocks = documents().flatMap(codeBlocks);
// A block that uses onlyone without importing it (a fragment of a longer example) gets the import it implies.
const IMPLIED = "import { acquire, tryAcquire, withLock, send, status, statusSlots, list, stop, LockBusyError } from 'onlyone';\n";

test('every TypeScript and JavaScript block of the docs type-checks, strict, against dist/index.d.ts', (t) => {
  const scripts = blocks.filter((block) => SCRIPT.has(block.lang));
  assert.ok(scripts.length >= 8, `found only ${scripts.length} blocks`);
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-docs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // `import ... from 'onlyone'` resolves as a user's would: node_modules/onlyone -> this package.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'onlyone'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const names = new Map();
  scripts.forEach((block, index) => {
    const name = join(dir, `block${index}.ts`);
    const imports = /from 'onlyone'/u.test(block.code) ? '' : IMPLIED;
    writeFileSync(name, `${imports}${block.code}\nexport {};\n`);
    names.set(name, { ...block, offset: imports === '' ? 0 : 1 });
  });
  const program = ts.createProgram([...names.keys(), fileURLToPath(new URL('docs/ambient.d.ts', import.meta.url))], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2024.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
    skipLibCheck: true,
  });
  const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const block = diagnostic.file === undefined ? undefined : names.get(diagnostic.file.fileName);
    if (block === undefined || diagnostic.start === undefined) return `${diagnostic.file?.fileName ?? ''}: ${text}`;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${block.file}:${block.line + 1 + line - block.offset}: TS${diagnostic.code}: ${text}`;
  });
  assert.deepEqual(problems, []);
});

test('the shell blocks marked `sh run` run, with onlyone on PATH, in a network namespace of their own', (t) => {
  const runnable = blocks.filter((block) => block.lang === 'sh' && block.words.includes('run'));
  assert.ok(runnable.length >= 1, 'the README has a runnable shell block');
  if (spawnSync('unshare', ['-rn', 'true']).status !== 0) {
    t.skip('unshare -rn is not available: the blocks use fixed lock names, so they only run in a fresh network namespace');
    return;
  }
  const bin = mkdtempSync(join(tmpdir(), 'onlyone-docs-bin-'));
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  writeFileSync(join(bin, 'onlyone'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'dist/cli/main.js'))} "$@"\n`, { mode: 0o755 });
  for (const block of runnable) {
    // A fresh network namespace: names like "demo" cannot meet anyone else's locks.
    const result = spawnSync('unshare', ['-rn', 'bash', '-euo', 'pipefail', '-c', block.code], {
      cwd: bin,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      timeout: 60_000,
    });
    assert.equal(result.status, 0, `${block.file}:${block.line}\n${result.stdout}\n${result.stderr}`);
    const expected = [...block.code.matchAll(/# prints: (.+)$/gmu)].map((match) => match[1].trim());
    for (const text of expected) assert.ok(`${result.stdout}${result.stderr}`.includes(text), `${block.file}:${block.line} prints ${JSON.stringify(text)}:\n${result.stdout}${result.stderr}`);
  }
});

test('every onlyone command line in a shell block of the docs parses (flags, values)', async () => {
  const lines = blocks.filter((block) => block.lang === 'sh').flatMap((block) => block.code.split('\n').map((text, i) => ({ block, text, line: block.line + 1 + i })));
  const commands = lines.filter(({ text }) => /^\s*(?:\*\/?\S*\s+\S+\s+\S+\s+\S+\s+\S+\s+)?(?:npx\s+)?onlyone\s+(?:run|status|list|wait|send|stop)\b/u.test(text));
  assert.ok(commands.length >= 10, `found only ${commands.length} onlyone lines`);
  for (const { block, text, line } of commands) {
    const words = shellWords(text.replace(/^.*?\bonlyone\s+/u, '').replace(/\s+#.*$/u, '').replace(/\s*(?:[|&;<>].*)$/u, ''));
    // --help right after the command: the whole line is parsed (an unknown flag or bad value is exit 64), nothing runs.
    const [command, ...rest] = words;
    const result = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), command, '--help', ...rest], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${block.file}:${line}: ${text}\n${result.stderr}`);
  }
});

/** Splits a shell command line into words: enough for the docs' quoting ('…', "…", \\). */
function shellWords(line) {
  const words = [];
  let word;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/u.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      word = (word ?? '') + line.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? line.length : end;
    } else {
      word = (word ?? '') + (c === '\\' ? line[++i] ?? '' : c);
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test('the README\'s systemd units pass systemd-analyze verify', { skip: !hasSystemdAnalyze && 'systemd-analyze is not installed (Debian: systemd)' }, (t) => {
  const units = blocks.filter((block) => block.lang === 'ini' && /^# \/etc\/systemd\/system\/[\w@.-]+\.(?:service|timer)$/mu.test(block.code.split('\n')[0]));
  assert.deepEqual(units.map((unit) => unit.code.split('\n')[0].split('/').pop()).sort(), ['backup.service', 'backup.timer']);
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = units.map((unit) => {
    const path = join(dir, unit.code.split('\n')[0].split('/').pop());
    writeFileSync(path, `${unit.code}\n`);
    return path;
  });
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8' });
  // The programs the units start are the reader's (installed with npm install -g, and their backup script):
  // their absence here is the only complaint allowed.
  const complaints = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '' && !/: Command \/usr\/local\/bin\/(?:onlyone|backup) is not executable: No such file or directory$/u.test(line));
  assert.deepEqual(complaints, []);
});
