// `onlyone run` on postgres: the command's whole tree is the holder. Grandchildren, double-forked daemons and
// processes that left the session die when the lock is lost or onlyone is stopped; SIGKILL of onlyone and its guard
// together still kills the direct command at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { delay, exitOf, lockName } from './helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const unavailable = postgresUnavailable();
const LOST = 79;
let server;

/** Live `sleep` processes whose duration starts with `tag`. */
function tagged(tag) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/u.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const [file = '', arg = ''] = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (file.endsWith('sleep') && arg.startsWith(tag)) found.push(Number(entry));
    } catch { /* gone */ }
  }
  return found;
}

/**
 * A command that is a tree: a shell with a background sleep and a foreground sleep, plus a double-forked daemon in
 * a session of its own that ignores SIGTERM. The sleeps' durations carry `tag` so the test can find them anywhere.
 */
function treeCommand(tag) {
  const n = Number.parseInt(tag, 16) % 1000;
  return ['/bin/sh', '-c', `setsid sh -c 'trap "" TERM; sleep 7${n}1 & exit' ; sleep 7${n}2 & echo ready; sleep 7${n}3; wait`];
}

function run(t, name, args, command) {
  const child = spawn(process.execPath, [cli, 'run', '--backend', server.url, ...args, name, '--', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const ready = async () => {
    while (!out.includes('ready')) await delay(20);
  };
  return { child, ready, stderr: () => err };
}

function tagFor() {
  return Math.floor(Math.random() * 0xfff).toString(16).padStart(3, '0');
}

/** The lease guard onlyone `pid` started. */
function guardOf(pid) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/u.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes('lease-guard.cjs')) return Number(entry);
    } catch { /* gone */ }
  }
  return undefined;
}

async function sqlOnce(text) {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** Waits until no process carrying `tag` is left, up to `ms`; returns those still alive. */
async function goneWithin(tag, ms) {
  const until = Date.now() + ms;
  while (tagged(`7${Number.parseInt(tag, 16) % 1000}`).length > 0 && Date.now() < until) await delay(20);
  return tagged(`7${Number.parseInt(tag, 16) % 1000}`);
}

describe('onlyone run on postgres: the whole command tree', { skip: unavailable, timeout: 120_000 }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  test('pg_terminate_backend: every process of the tree dies, the daemon that ignores SIGTERM included', async (t) => {
    const tag = tagFor();
    const r = run(t, lockName('pgtree'), ['--grace', '1'], treeCommand(tag));
    await r.ready();
    assert.equal(tagged(`7${Number.parseInt(tag, 16) % 1000}`).length, 3, 'the tree has three sleeps');
    await sqlOnce("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'onlyone %'" + ` AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)`);
    assert.equal((await exitOf(r.child)).code, LOST, r.stderr());
    assert.deepEqual(await goneWithin(tag, 0), [], 'processes of the tree outlived onlyone');
  });

  test('SIGTERM to onlyone: the whole tree stops, and what ignores SIGTERM is killed after --grace', async (t) => {
    const tag = tagFor();
    const r = run(t, lockName('pgtreeterm'), ['--grace', '1'], treeCommand(tag));
    await r.ready();
    r.child.kill('SIGTERM');
    const ended = await exitOf(r.child);
    assert.equal(ended.signal ?? ended.code, 'SIGTERM', r.stderr());
    assert.deepEqual(await goneWithin(tag, 0), [], 'processes of the tree outlived onlyone');
  });

  test('a command that exits leaving a background process: onlyone stops it before releasing the lock', async (t) => {
    const tag = tagFor();
    const n = Number.parseInt(tag, 16) % 1000;
    const r = run(t, lockName('pgtreeleft'), ['--grace', '1'], ['/bin/sh', '-c', `sleep 7${n}4 & echo ready`]);
    assert.equal((await exitOf(r.child)).code, 0, r.stderr());
    assert.deepEqual(await goneWithin(tag, 0), [], 'a background process outlived the lock');
  });

  test('SIGKILL of onlyone and its lease guard together: the direct command dies at once', async (t) => {
    const tag = tagFor();
    const n = Number.parseInt(tag, 16) % 1000;
    const r = run(t, lockName('pgtreeboth'), [], ['/bin/sh', '-c', `echo ready; exec sleep 7${n}5`]);
    await r.ready();
    const guard = guardOf(r.child.pid);
    assert.ok(guard !== undefined, 'no lease guard runs');
    const [command] = tagged(`7${n}5`);
    assert.ok(command !== undefined);
    process.kill(guard, 'SIGKILL');
    process.kill(r.child.pid, 'SIGKILL');
    // The parent-death signal is delivered by the kernel as onlyone exits: no waiting on any timer of ours.
    assert.deepEqual(await goneWithin(tag, 2000), [], 'the command outlived onlyone and its guard');
  });
});
