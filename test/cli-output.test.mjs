// Output through real pipes: nothing is lost however slow the reader, and a reader that leaves early ends the
// command quietly (issue 12, item 1).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, lockName, startHolder } from './helpers.mjs';
import { cliPath } from './cli-helpers.mjs';

const LOCKS = 10_000;

/** Starts a process holding `count` locks under a fresh prefix; resolves once they are all held. */
async function holdMany(count) {
  const prefix = `${lockName('out')}/`;
  const child = spawn(process.execPath, [fixture('hold-many.mjs'), prefix, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [chunk] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(([code]) => { throw new Error(`holder exited ${code}`); })]);
  assert.match(String(chunk), /ready/);
  return { prefix, child, stop: async () => { child.stdin.end(); await once(child, 'exit'); } };
}

/** Runs `onlyone ARGS | READER` in a real shell pipeline; returns the reader's output and both statuses. */
function piped(args, reader, { raw = false } = {}) {
  // With raw, the last two arguments are redirections, written into the script as they are.
  const words = raw ? args.slice(0, -2) : args;
  const quoted = words.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const redirect = raw ? args.slice(-2).join(' ') : '2>"$ERRFILE"';
  const script = `'${process.execPath}' '${cliPath}' ${quoted} ${redirect} | ${reader}; echo "status=\${PIPESTATUS[0]}"`;
  const errFile = `/tmp/${lockName('stderr')}`;
  const result = spawnSync('bash', ['-c', `${script}; cat "$ERRFILE" >&2; rm -f "$ERRFILE"`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ERRFILE: errFile } });
  const match = /status=(\d+)\n$/u.exec(result.stdout);
  assert.ok(match, `no status in ${result.stdout.slice(-200)}`);
  return { out: result.stdout.slice(0, match.index), status: Number(match[1]), stderr: result.stderr };
}

test(`list --json | cat is complete and valid with ${LOCKS} locks, through a late reader too; | head ends quietly`, { timeout: 600_000 }, async () => {
  const many = await holdMany(LOCKS);
  try {
    const json = piped(['list', '--prefix', many.prefix, '--json'], 'cat');
    assert.equal(json.status, 0, json.stderr);
    const holders = JSON.parse(json.out);
    assert.equal(holders.length, LOCKS);
    assert.deepEqual(new Set(holders.map((h) => h.name)).size, LOCKS);
    // A reader that starts late: the writer fills the pipe and must wait for it, not exit.
    const late = piped(['list', '--prefix', many.prefix, '--json'], '(sleep 1; cat)');
    assert.equal(late.status, 0, late.stderr);
    assert.equal(JSON.parse(late.out).length, LOCKS);
    // A reader that leaves after a few bytes: quiet, no stack, no EPIPE message.
    const head = piped(['list', '--prefix', many.prefix], 'head -c 10');
    assert.equal(head.out.length, 10);
    assert.equal(head.stderr, '');
  } finally {
    await many.stop();
  }
});

test('--help, status, send, stop and the conflict message survive a slow reader and a reader that leaves', async () => {
  const name = lockName('pipe');
  const help = piped(['--help'], '(sleep 0.5; cat)');
  assert.equal(help.status, 0);
  assert.match(help.out, /Exit status:[^]*127/u);
  assert.equal(piped(['--help'], 'head -c 1').stderr, '');
  const free = piped(['status', name, '--json'], '(sleep 0.5; cat)');
  assert.equal(free.status, 1);
  assert.equal(JSON.parse(free.out).held, false);
  const holder = startHolder(name, { mode: 'echo' });
  try {
    assert.equal((await holder.events.next()).event, 'acquired');
    const held = piped(['status', name], '(sleep 0.5; cat)');
    assert.equal(held.status, 0);
    assert.match(held.out, /backend: {2}abstract\n$/u);
    const reply = piped(['send', name, '--json', '"x"'], '(sleep 0.5; cat)');
    assert.equal(reply.status, 0, reply.stderr);
    assert.equal(JSON.parse(reply.out).data, 'x');
    // The conflict message is on stderr: send it down the pipe instead of stdout.
    const conflict = piped(['run', name, '--', 'true', '2>&1', '>/dev/null'], '(sleep 0.5; cat)', { raw: true });
    assert.equal(conflict.status, 75);
    assert.match(conflict.out, new RegExp(`^onlyone: ${name} is already running \\(pid ${holder.pid}, .*\\)\n$`, 'u'));
    const stopped = piped(['stop', name, '--timeout', '5'], '(sleep 0.5; cat)');
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.match(stopped.out, /^(released|terminated|killed)\n$/u);
  } finally {
    holder.child.kill('SIGKILL');
    await holder.exited;
  }
});
