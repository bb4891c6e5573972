// Helpers for the identity tests: a second, unprivileged user, and processes run as that user.
import { execFileSync, spawn } from 'node:child_process';
import { jsonLines, fixture } from './helpers.mjs';

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

/**
 * Runs test/fixtures/identity-actor.mjs with `args`, as `user` ({ uid, gid }) or as ourselves when undefined.
 * Returns the child, its JSON events, and `end()` which closes its stdin and waits for it to exit.
 */
export function actor(args, { user, env } = {}) {
  const command = user === undefined
    ? [process.execPath, fixture('identity-actor.mjs'), ...args]
    : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', process.execPath, fixture('identity-actor.mjs'), ...args];
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
