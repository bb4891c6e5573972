// A lookup the system refuses (out of descriptors) is an error with its own exit status, never "free"
// (issue 12, item 2).
import { execFileSync, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, lockName, startHolder } from './helpers.mjs';
import { cliPath } from './cli-helpers.mjs';

test('library status() in a process out of descriptors throws OsError (ERR_OS), never undefined', async () => {
  const name = lockName('emfile');
  const holder = startHolder(name);
  try {
    assert.equal((await holder.events.next()).event, 'acquired');
    const out = JSON.parse(execFileSync(process.execPath, [fixture('out-of-fds.mjs'), name], { encoding: 'utf8' }));
    assert.equal(out.code, 'ERR_OS', JSON.stringify(out));
    assert.equal(out.error, 'OsError');
    assert.equal(out.errno, 'EMFILE');
    assert.match(out.message, /out of file descriptors.*ulimit -n/u);
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});

/** Whether Node itself failed to start (the limit is too low to load the runtime): onlyone never ran. */
function nodeFailed(run) {
  return run.stdout === '' && (run.signal !== null || /Assertion failed|^node:|EMFILE: too many open files, open '[^']*main\.js'/mu.test(run.stderr));
}

/** Runs the CLI under `ulimit -n limit`. */
function underLimit(limit, args) {
  const quoted = args.map((arg) => `'${arg}'`).join(' ');
  return spawnSync('bash', ['-c', `ulimit -n ${limit}; exec '${process.execPath}' '${cliPath}' ${quoted}`], { encoding: 'utf8' });
}

test('every command, at every descriptor limit, says held or names what ran out (exit 71); never "free", no stack, no NUL', async () => {
  const name = lockName('emfile-cli');
  const holder = startHolder(name);
  try {
    assert.equal((await holder.events.next()).event, 'acquired');
    const seen = new Set();
    let answered = 0;
    // From the lowest limit Node starts at, up to a few limits past the first that answers.
    for (let limit = 12; limit <= 64 && answered < 3; limit++) {
      const status = underLimit(limit, ['status', name, '--json']);
      // Node itself may fail to start at the lowest limits: that run never reached onlyone.
      if (nodeFailed(status)) continue;
      assert.ok(status.status === 0 || status.status === 71, `limit ${limit}: status ${status.status}, ${status.stdout}${status.stderr}`);
      seen.add(status.status);
      if (status.status === 0) assert.equal(JSON.parse(status.stdout).held, true);
      if (status.status === 0) answered++;
      for (const args of [['status', name], ['status', name, '--json'], ['run', name, '--', 'true'], ['wait', name, '--timeout', '0.2'], ['list'], ['send', name]]) {
        const run = underLimit(limit, args);
        if (nodeFailed(run)) continue;
        assert.doesNotMatch(run.stdout, /is free|"held":false/u, `limit ${limit} ${args[0]}`);
        assert.doesNotMatch(run.stderr, /internal error|\0|\n {4}at /u, `limit ${limit} ${args.join(' ')}: ${run.stderr}`);
        if (run.status === 71) assert.match(run.stderr, /^onlyone: .*(out of file descriptors|EMFILE).*\n$/u);
      }
    }
    assert.ok(seen.has(71), 'some limit must make the lookup fail');
    assert.ok(seen.has(0), 'some limit must let the lookup succeed');
  } finally {
    holder.child.stdin.end();
    await holder.exited;
  }
});
