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
    // Wide enough for the whole holder description (a narrower line shortens it: see below).
    waiter = spawn('script', ['-qec', `stty cols 250 && exec ${process.execPath} ${cliPath} run --wait ${name} -- echo acquired`, '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** Runs `onlyone ARGS` on a pseudo-terminal COLUMNS wide; resolves with everything it wrote and its exit code. */
function onTty(args, { columns = 80, env = {} } = {}) {
  const command = `stty cols ${columns} && exec ${process.execPath} ${cliPath} ${args.join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => { output += chunk; });
  const exited = once(child, 'exit').then(([code]) => ({ code, output }));
  return { exited, get output() { return output; } };
}

test('on a narrow terminal the waiting line fits, shortening the holder and keeping the time waited', { skip: !hasScript && 'script(1) from util-linux is not installed' }, async () => {
  const name = lockName('cli-tty-narrow');
  const holder = await holdWithCli(name);
  // The name alone takes about 55 columns, the time waited about 12: some room is left for the holder.
  const waiter = onTty(['run', '--wait', name, '--', 'echo', 'acquired'], { columns: 90 });
  try {
    const deadline = Date.now() + 20_000;
    while (!waiter.output.includes('(pid ')) {
      assert.ok(Date.now() < deadline, `no line naming the holder: ${JSON.stringify(waiter.output)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await holder.release();
  }
  const { code, output } = await waiter.exited;
  assert.equal(code, 0);
  const lines = output.split('\r\u001b[2K').slice(1, -1);
  assert.ok(lines.some((line) => line.includes('(pid ')), JSON.stringify(output));
  for (const line of lines) {
    assert.ok([...line].length <= 89, `fits 90 columns: ${JSON.stringify(line)}`);
    assert.match(line, /^onlyone: waiting for .*, waited \d+s$/u);
  }
});

test('-q hides the waiting line; TERM=dumb gets one plain line and no escape codes', { skip: !hasScript && 'script(1) from util-linux is not installed' }, async () => {
  const name = lockName('cli-tty-quiet');
  const holder = await holdWithCli(name);
  try {
    const quiet = await onTty(['run', '-q', '--wait', '0.5', name, '--', 'true']).exited;
    assert.equal(quiet.code, 75);
    assert.equal(quiet.output, '', 'nothing at all under -q');
    const quietWait = await onTty(['wait', '-q', '--timeout', '0.5', name]).exited;
    assert.equal(quietWait.code, 75);
    assert.equal(quietWait.output, '');
    const dumb = await onTty(['run', '--wait', '0.5', name, '--', 'true'], { env: { TERM: 'dumb' } }).exited;
    assert.equal(dumb.code, 75);
    assert.doesNotMatch(dumb.output, /\u001b/u);
    assert.ok(dumb.output.startsWith(`onlyone: waiting for ${name}\r\n`), JSON.stringify(dumb.output));
  } finally {
    await holder.release();
  }
});
