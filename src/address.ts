import { InvalidLockNameError } from './errors.js';

/** Size of `sun_path` in `struct sockaddr_un` on Linux. */
export const SUN_PATH_BYTES: number = 108;
/** The default prefix of every v1 lock address. */
export const DEFAULT_PREFIX: string = 'onlyone/v1/';

/** `user` locks are per uid; `system` locks are shared by every user of the network namespace. */
export type Scope = 'user' | 'system';

// C0 controls, DEL and C1 controls: invisible in listings and a source of look-alike names.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** The scope segment of an address: `u<uid>` or `sys`. */
export function scopeSegment(scope: Scope, uid: number): string {
  return scope === 'system' ? 'sys' : `u${uid}`;
}

/**
 * Checks that `value` can be part of a lock address, and throws InvalidLockNameError saying why not.
 * @internal
 */
export function checkText(what: string, value: unknown, allowEmpty = false): asserts value is string {
  if (typeof value !== 'string') throw new InvalidLockNameError(`The ${what} must be a string, got ${typeof value}`);
  if (value.length === 0 && !allowEmpty) throw new InvalidLockNameError(`The ${what} must not be empty`);
  if (!value.isWellFormed()) {
    throw new InvalidLockNameError(`The ${what} ${JSON.stringify(value)} contains a lone surrogate (it would be encoded as U+FFFD and collide with other names)`);
  }
  const control = CONTROL.exec(value);
  if (control !== null) {
    const hex = control[0].codePointAt(0)?.toString(16).padStart(4, '0') ?? '';
    throw new InvalidLockNameError(`The ${what} ${JSON.stringify(value)} contains the control character U+${hex.toUpperCase()}`);
  }
}

/**
 * Builds the v1 abstract address: NUL, prefix, scope, "/", name, padded with NULs to exactly 108 bytes.
 * Padding makes Node 20 (which pads) and Node >= 22 (which does not) bind the same kernel address.
 * @throws InvalidLockNameError when the name is malformed or does not fit.
 * @internal
 */
export function abstractAddress(name: string, scope: Scope, prefix: string, uid: number): string {
  checkText('lock name', name);
  checkText('prefix', prefix, true);
  const body = `${prefix}${scopeSegment(scope, uid)}/${name}`;
  const bytes = Buffer.byteLength(body, 'utf8');
  const room = SUN_PATH_BYTES - 1;
  if (bytes > room) {
    throw new InvalidLockNameError(
      `The lock name ${JSON.stringify(name)} is too long: with prefix and scope it takes ${bytes} bytes of UTF-8, and at most ${room} fit in an abstract socket address (${room - bytes + Buffer.byteLength(name)} bytes left for the name)`,
    );
  }
  return `\0${body}${'\0'.repeat(room - bytes)}`;
}

/** Turns an address back into printable form: a leading "@" for the NUL, trailing padding removed. */
export function printableAddress(address: string): string {
  return address.startsWith('\0') ? `@${address.slice(1).replace(/\0+$/u, '')}` : address;
}
