// `send --json -` (stdin) and `--json @FILE`: data too large for argv ("Argument list too long") still goes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { holdWithCli, startCli } from './cli-helpers.mjs';

/** `onlyone send ...args` with `input` written to its stdin. */
function sendWithStdin(args, input) {
  const run = startCli(['send', ...args], { stdin: 'pipe' });
  run.child.stdin.on('error', () => {}); // it may exit before reading everything (a usage error)
  run.child.stdin.end(input);
  return run.done;
}

test('send --json - reads the data from stdin, and --json @FILE from a file, past what argv can carry', async (t) => {
  const name = lockName('cli-send-data');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-send-data-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The reply is the data's length: a `cat` reply of 600 KiB would be a second copy to check.
  const holder = await holdWithCli(name, ['--on-message', 'node -e "let s=\'\';process.stdin.on(\'data\',(c)=>s+=c).on(\'end\',()=>console.log(JSON.parse(s).data.text.length))"']);
  try {
    // 600 KiB: more than one argument may hold on Linux (128 KiB, MAX_ARG_STRLEN).
    const data = { text: 'x'.repeat(600 * 1024) };
    const viaStdin = await sendWithStdin([name, '--json', '-'], JSON.stringify(data));
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.equal(JSON.parse(viaStdin.stdout), data.text.length);
    const file = join(dir, 'data.json');
    writeFileSync(file, JSON.stringify(data));
    const viaFile = await startCli(['send', name, '--json', `@${file}`]).done;
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.equal(JSON.parse(viaFile.stdout), data.text.length);

    const badStdin = await sendWithStdin([name, '--json', '-'], '{nope');
    assert.equal(badStdin.code, 64);
    assert.match(badStdin.stderr, /^onlyone: --json \(stdin\): /u);
    const missing = await startCli(['send', name, '--json', `@${join(dir, 'missing.json')}`]).done;
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /^onlyone: --json @.*missing\.json: cannot read it \(ENOENT\)/u);
    const tooLarge = await sendWithStdin([name, '--json', '-'], JSON.stringify({ text: 'y'.repeat(1100 * 1024) }));
    assert.equal(tooLarge.code, 65, tooLarge.stderr);
    assert.match(tooLarge.stderr, /^onlyone: the --json data on stdin is \d+ bytes, more than the 1048576-byte cap$/mu);
  } finally {
    await holder.release();
  }
});
