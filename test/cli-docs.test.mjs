// The man page and the shell completions are generated from --help at build time (scripts/gen-cli-docs.mjs):
// they render, and they offer exactly the flags --help lists.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli } from './cli-helpers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** The flags a help text lists in its option tables, read independently of the generator. */
async function helpFlags(command) {
  const { stdout } = await cli(['help', command]);
  const rows = stdout.split('\n').filter((line) => /^ {2}-/u.test(line));
  return new Set(rows.flatMap((row) => row.trim().split(/ {2,}/u)[0].split(/,\s*/u).map((spelling) => spelling.split(' ')[0])));
}

function bashComplete(words) {
  const script = `source ${JSON.stringify(`${root}dist/completion/onlyone.bash`)}
COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _onlyone; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

test('package.json names the man page, and the build wrote it', () => {
  for (const page of pkg.man) assert.ok(existsSync(`${root}${page}`), page);
});

test('man -l renders onlyone(1) with every command and every flag of run', { skip: !has('man') && 'man is not installed (Debian: man-db)' }, async () => {
  const rendered = execFileSync('man', ['-l', `${root}dist/man/onlyone.1`], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '200', MAN_KEEP_FORMATTING: '', PAGER: 'cat' }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'COMMAND: RUN', 'COMMAND: STOP']) assert.match(rendered, new RegExp(`^${section}$`, 'mu'));
  const plain = rendered.replace(/\u2010|\u2212/gu, '-');
  for (const flag of await helpFlags('run')) assert.ok(plain.includes(flag), `the man page shows ${flag}`);
  const { stdout: version } = await cli(['--version']);
  assert.match(rendered, new RegExp(`onlyone ${version.trim().split(' ')[1].replaceAll('.', '\\.')}`, 'u'));
});

test('bash completion offers run\'s flags, exactly those --help lists, and the commands', async () => {
  for (const command of ['run', 'status', 'stop', 'send', 'wait', 'list']) {
    assert.deepEqual(new Set(bashComplete(['onlyone', command, '-'])), await helpFlags(command), command);
  }
  assert.ok(bashComplete(['onlyone', 'run', '--']).includes('--keep-running'));
  assert.deepEqual(bashComplete(['onlyone', 'run', '--scope', '']), ['user', 'system']);
  assert.deepEqual(bashComplete(['onlyone', 's']).sort(), ['send', 'status', 'stop']);
  assert.deepEqual(bashComplete(['onlyone', 'run', '--timeout', '']), [], 'a value is not a flag');
  assert.ok(bashComplete(['onlyone', 'run', 'job', '--', 'bas']).includes('bash'), 'after --, a command');
});

test('zsh completion is a valid #compdef file naming every flag of run', { skip: !has('zsh') && 'zsh is not installed' }, async () => {
  const file = `${root}dist/completion/_onlyone`;
  assert.equal(spawnSync('zsh', ['-n', file]).status, 0);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^#compdef onlyone$/mu);
  for (const flag of await helpFlags('run')) assert.ok(text.includes(`'${flag}[`), `zsh offers ${flag}`);
});
