// docs/protocol.md's C example, compiled as it is written and run against onlyone holders: the longest name
// that fits (107 bytes of address) is the same lock in C and in Node, and a longer one is refused, not truncated.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquire, tryAcquire } from '../dist/index.js';
import { codeBlocks } from './docs/blocks.mjs';
import { jsonLines, lockName } from './helpers.mjs';

const hasCc = spawnSync('cc', ['--version']).status === 0;

const MAIN = `
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* docs/protocol.md's example, verbatim: */
@EXAMPLE@

/* Takes NAME, says {"result":...} on stdout, and holds it until stdin closes. */
int main(int argc, char **argv) {
  int fd = onlyone_bind(argv[1]);
  printf("{\\"result\\":\\"%s\\"}\\n", fd >= 0 ? "held" : errno == EADDRINUSE ? "busy" : errno == ENAMETOOLONG ? "too-long" : strerror(errno));
  fflush(stdout);
  if (fd >= 0) { char c; while (read(0, &c, 1) > 0) {} }
  return 0;
}
`;

test('the C example binds the same 108-byte address as Node, up to the longest name, and refuses a longer one', { skip: !hasCc && 'no C compiler (cc)' }, async (t) => {
  const [example] = codeBlocks('docs/protocol.md').filter((block) => block.lang === 'c');
  assert.ok(example?.code.includes('onlyone_bind'), 'the C block defines onlyone_bind');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-c-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bind.c'), MAIN.replace('@EXAMPLE@', example.code));
  const compiled = spawnSync('cc', ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Werror', '-o', join(dir, 'bind'), join(dir, 'bind.c')], { encoding: 'utf8' });
  assert.equal(compiled.status, 0, compiled.stderr);
  const children = [];
  // A failed assertion must not leave a C holder waiting on its stdin.
  t.after(() => children.forEach((child) => child.kill('SIGKILL')));
  const run = (name) => {
    const child = spawn(join(dir, 'bind'), [name], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    return { child, events: jsonLines(child.stdout) };
  };

  const prefixBytes = Buffer.byteLength(`onlyone/v1/u${process.getuid()}/`);
  const base = lockName('c');
  const longest = `${base}${'x'.repeat(107 - prefixBytes - base.length)}`;
  assert.equal(Buffer.byteLength(`onlyone/v1/u${process.getuid()}/${longest}`), 107);

  // Node holds the longest name: C is refused.
  const lock = await acquire(longest);
  try {
    const contender = run(longest);
    assert.equal((await contender.events.next()).result, 'busy', 'C sees the lock Node holds');
    contender.child.stdin.end();
  } finally {
    await lock.release();
  }
  // C holds it: Node is refused.
  const holder = run(longest);
  assert.equal((await holder.events.next()).result, 'held');
  try {
    assert.equal(await tryAcquire(longest), undefined, 'Node sees the lock C holds');
  } finally {
    holder.child.stdin.end();
  }
  // One byte more does not fit: refused, never bound under a truncated name.
  const tooLong = run(`${longest}y`);
  assert.equal((await tooLong.events.next()).result, 'too-long');
  tooLong.child.stdin.end();
});
