import { createHash } from 'node:crypto';

/** Characters of the command's base name kept in the lock name, so that `list` is readable. */
const MAX_BASE_CHARS = 40;

/**
 * The lock name `run -- COMMAND [ARG...]` takes when no NAME is given (run-one's habit): `cmd-` + the
 * command's base name + a hash of the whole argv joined with NUL bytes, so that `a "b c"` and `a b c`
 * differ while two identical command lines exclude each other. Loaded only when needed: node:crypto
 * costs milliseconds at start-up.
 * @internal
 */
export function commandLockName(argv: readonly string[]): string {
  const hash = createHash('sha256').update(argv.join('\0')).digest('hex').slice(0, 32);
  const base = (argv[0] ?? '').split('/').pop() ?? '';
  const readable = base.replace(/[^A-Za-z0-9_.-]/gu, '_').slice(0, MAX_BASE_CHARS);
  return `cmd-${readable === '' ? '' : `${readable}-`}${hash}`;
}
