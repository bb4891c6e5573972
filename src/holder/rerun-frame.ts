import { errorFrame, type Frame } from '../protocol/frames.js';
import type { PeerIdentity } from './messages.js';
import type { RerunQueue, RerunRequest } from './reruns.js';

/**
 * Reads a `rerun` frame (see docs/protocol.md): argv (non-empty, strings), cwd (string), env (an object of strings,
 * optional), wait (boolean, optional). Returns why it is malformed as a string, or the request.
 * @internal
 */
export function parseRerunFrame(frame: Frame, from: PeerIdentity): { request: RerunRequest; wait: boolean } | string {
  const { argv, cwd, env, wait } = frame;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === 'string')) return 'rerun "argv" must be a non-empty array of strings';
  if (cwd !== undefined && typeof cwd !== 'string') return 'rerun "cwd" must be a string';
  if (wait !== undefined && typeof wait !== 'boolean') return 'rerun "wait" must be a boolean';
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((value) => typeof value === 'string'))) {
    return 'rerun "env" must be an object of strings';
  }
  // A null-prototype copy: a key such as __proto__ stays a plain variable name.
  const environment = env === undefined ? undefined : Object.freeze(Object.assign(Object.create(null) as Record<string, string>, env));
  return { request: { argv: Object.freeze(argv.slice() as string[]), cwd: cwd ?? '', env: environment, from }, wait: wait === true };
}

/** Who may ask for a rerun: only this user (or root). A rerun runs their command as us, so `allowUids` is not enough. @internal */
export function mayRerun(peer: PeerIdentity): boolean {
  const own = process.getuid?.();
  return peer.verified && peer.uid !== undefined && (peer.uid === own || peer.uid === 0);
}

/**
 * Answers one `rerun` frame (see docs/protocol.md §9): `not_supported` without `coalesce`, `forbidden` for another
 * user, `bad_frame` when malformed, else a `reply` (at once, or with `wait` once the rerun has ended). Never throws.
 * @internal
 */
export async function serveRerun(frame: Frame, peer: PeerIdentity, reruns: RerunQueue | undefined, send: (answer: Frame) => void): Promise<void> {
  const { id } = frame;
  const withId = id === undefined ? {} : { id };
  if (reruns === undefined) {
    send(errorFrame('not_supported', 'this holder does not coalesce runs (it was not started with coalesce)', id));
    return;
  }
  if (!mayRerun(peer)) {
    send(errorFrame('forbidden', `only the holder's own user may ask it to run a command, not uid ${peer.uid ?? 'unknown'}`, id));
    return;
  }
  const parsed = parseRerunFrame(frame, peer);
  if (typeof parsed === 'string') {
    send(errorFrame('bad_frame', parsed, id));
    return;
  }
  send({ type: 'reply', ...withId, data: await reruns.handle(parsed.request, parsed.wait) });
}
