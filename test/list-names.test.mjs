// list finds every lock once, whatever punctuation its name begins or ends with (issue 12, item 5): the kernel
// prints NUL as "@", so `X` and `X@` look alike in /proc/net/unix.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { list } from '../dist/index.js';
import { cli } from './cli-helpers.mjs';
import { fixture, lockName } from './helpers.mjs';

const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];

async function holdNames(names, options = {}) {
  const prefix = `${lockName('names')}/`;
  const child = spawn(process.execPath, [fixture('hold-many.mjs'), prefix, JSON.stringify(names), JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [chunk] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(([code]) => { throw new Error(`holder exited ${code}`); })]);
  assert.match(String(chunk), /ready/u);
  return { prefix, pid: child.pid, stop: async () => { child.stdin.end(); await once(child, 'exit'); } };
}

const sorted = (names) => names.slice().sort();

test('X and X@ held together are both listed, once each', async () => {
  const names = ['X', 'X@', 'X@@', 'Y@'];
  const held = await holdNames(names);
  try {
    assert.deepEqual(sorted((await list({ prefix: held.prefix })).map((h) => h.name)), sorted(names));
    const json = JSON.parse((await cli(['list', '--prefix', held.prefix, '--json'])).stdout);
    assert.deepEqual(sorted(json.map((h) => h.name)), sorted(names));
    // Without koffi the same, through Node streams.
    const blind = await cli(['list', '--prefix', held.prefix, '--json'], { env: { ONLYONE_NO_KOFFI: '1' } });
    assert.deepEqual(sorted(JSON.parse(blind.stdout).map((h) => h.name)), sorted(names));
  } finally {
    await held.stop();
  }
});

test('names that begin or end with every punctuation character are each listed once, by their own name', async () => {
  const names = ['n', ...PUNCTUATION.flatMap((c) => [`${c}n`, `n${c}`, `${c}`, `${c}${c}`])];
  const unique = [...new Set(names)];
  const held = await holdNames(unique);
  try {
    const seen = (await list({ prefix: held.prefix })).map((h) => h.name);
    assert.deepEqual(sorted(seen), sorted(unique));
  } finally {
    await held.stop();
  }
});
