// list finds the holders of locks whose binder has exited (commands that inherited them) with one walk of
// /proc, not one per lock (issue 12, item 9). Counted in opens of /proc, traced by strace; timings are in
// `npm run bench:list`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, lockName } from './helpers.mjs';

const hasStrace = spawnSync('strace', ['-V']).status === 0;
const LOCKS = 40;

test(`${LOCKS} locks held by commands that inherited them: listed and verified with one /proc walk`, { skip: hasStrace ? false : 'needs strace', timeout: 120_000 }, async () => {
  const prefix = `${lockName('orphans')}/`;
  const pids = JSON.parse(execFileSync(process.execPath, [fixture('hold-orphans.mjs'), prefix, String(LOCKS), '2'], { encoding: 'utf8' }));
  try {
    const trace = join(tmpdir(), `${lockName('trace')}.txt`);
    const traced = spawnSync('strace', ['-f', '--seccomp-bpf', '-e', 'trace=openat', '-e', 'signal=none', '-o', trace, process.execPath, fixture('list-prefix.mjs'), prefix], { encoding: 'utf8' });
    const opens = readFileSync(trace, 'utf8');
    rmSync(trace, { force: true });
    const found = JSON.parse(traced.stdout);
    assert.equal(found.count, LOCKS);
    assert.equal(found.verified, LOCKS);
    assert.deepEqual(found.pids.sort((a, b) => a - b), pids.slice().sort((a, b) => a - b));
    // Each walk of the process table opens /proc itself as a directory.
    const walks = opens.split('\n').filter((line) => /openat\(AT_FDCWD, "\/proc", [^)]*O_DIRECTORY/u.test(line)).length;
    assert.equal(walks, 1, `${walks} walks of /proc for ${LOCKS} locks`);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGKILL');
  }
});
