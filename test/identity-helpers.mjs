// Helpers for the identity tests: a second, unprivileged user, and processes run as that user.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLines, fixture } from './helpers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

// These tests are about the abstract backend's kernel-verified identity, whatever the default backend is.
delete process.env.ONLYONE_BACKEND;

export const TEST_USER = 'onlyone-other';
export const isRoot = process.getuid() === 0;

let cached;
/** Creates the test user if missing (idempotent, safe against a concurrent creation) and returns its ids. */
export function testUser() {
  if (cached) return cached;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
    gid: Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
    name: TEST_USER,
  });
  try {
    cached = ids();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER], { stdio: 'pipe' });
    } catch (error) {
      // Exit 9: another test created it first.
      if (error.status !== 9) throw error;
    }
    cached = ids();
  }
  return cached;
}

// What another user runs must be readable by that user: the whole path, from /, not only the files.
const COPIED = ['dist', 'test/helpers.mjs', 'test/fixtures/identity-actor.mjs', 'node_modules/koffi', 'node_modules/@koromix'];
const runnable = new Map();
/**
 * What `user` runs: node, the actor fixture and dist/index.js, in place when that user can read them (a
 * world-readable checkout), or else copied once into a world-readable temp dir (a clone under a 0700 home or
 * `mktemp -d`, node under nvm). Returns `{ node, actor, distEntry }`.
 */
export function runnableFor(user) {
  const known = runnable.get(user.uid);
  if (known) return known;
  const actorPath = fixture('identity-actor.mjs');
  const needed = [process.execPath, actorPath, join(root, 'test/helpers.mjs'), join(root, 'dist/index.js'), join(root, 'node_modules/koffi/package.json')];
  const readable = spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'sh', '-c', 'for p; do test -r "$p" || exit 1; done', 'sh', ...needed]).status === 0;
  if (readable) {
    const found = { node: process.execPath, actor: actorPath, distEntry: join(root, 'dist/index.js') };
    runnable.set(user.uid, found);
    return found;
  }
  const copy = mkdtempSync(join(tmpdir(), 'onlyone-identity-'));
  process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
  chmodSync(copy, 0o755);
  for (const part of COPIED) {
    if (existsSync(join(root, part))) cpSync(join(root, part), join(copy, part), { recursive: true });
  }
  cpSync(process.execPath, join(copy, 'node'));
  spawnSync('chmod', ['-R', 'a+rX', copy]);
  const copied = { node: join(copy, 'node'), actor: join(copy, 'test/fixtures/identity-actor.mjs'), distEntry: join(copy, 'dist/index.js') };
  runnable.set(user.uid, copied);
  return copied;
}

/**
 * Runs test/fixtures/identity-actor.mjs with `args`, as `user` ({ uid, gid }) or as ourselves when undefined.
 * Returns the child, its JSON events, and `end()` which closes its stdin and waits for it to exit.
 */
export function actor(args, { user, env } = {}) {
  const command = user === undefined
    ? [process.execPath, fixture('identity-actor.mjs'), ...args]
    : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', runnableFor(user).node, runnableFor(user).actor, ...args];
  const child = spawn(command[0], command.slice(1), {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const events = jsonLines(child.stdout);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    events,
    exited,
    async end() {
      child.stdin.end();
      return exited;
    },
  };
}

/** Runs an actor to completion and returns its first event. */
export async function actorResult(args, options) {
  const run = actor(args, options);
  const event = await run.events.next(20_000);
  await run.end();
  return event;
}
