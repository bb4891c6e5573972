// The live status line while waiting on a terminal, through a real pseudo-terminal from script(1).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { cliPath, holdWithCli } from './cli-helpers.mjs';

const hasScript = spawnSync('script', ['--version']).status === 0;

test('waiting on a TTY draws name, holder and time waited, then clears the line on acquire', { skip: !hasScript && 'script(1) from util-linux is not installed' }, async () => {
  const name = lockName('cli-tty');
  const holder = await holdWithCli(name);
  let output = '';
  let waiter;
  let exited;
  try {
    // script runs the command on a new pseudo-terminal and copies what it writes to our pipe.
    waiter = spawn('script', ['-qec', `${process.execPath} ${cliPath} run --wait ${name} -- echo acquired`, '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Listen now: once the holder is released the waiter may exit before release() returns.
    exited = once(waiter, 'exit');
    waiter.stdout.setEncoding('utf8');
    waiter.stdout.on('data', (chunk) => { output += chunk; });
    const deadline = Date.now() + 20_000;
    // Wait for a redraw that names the holder (the first draw may come before the holder was asked).
    while (!output.includes(`waiting for ${name} (pid ${holder.child.pid}, user `)) {
      assert.ok(Date.now() < deadline, `no status line: ${JSON.stringify(output)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.doesNotMatch(output, /acquired/);
  } finally {
    await holder.release();
  }
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(output, /waited \d+s/);
  // The last thing before the command's output is the line being erased.
  const lastClear = output.lastIndexOf('\r\u001b[2K');
  assert.ok(lastClear >= 0);
  assert.equal(output.slice(lastClear + '\r\u001b[2K'.length), 'acquired\r\n');
});
