import { InvalidMessageError } from '../errors.js';

/** Nesting deeper than this is refused: JSON.parse on the holder would still cope, but nobody needs it. */
const MAX_DEPTH = 512;

/**
 * Checks that `value` is plain JSON, so that what the holder receives is exactly what was sent:
 * JSON.stringify would silently turn NaN into null, drop undefined properties and functions, call
 * `toJSON` on dates, and throw on BigInt and cycles. Throws InvalidMessageError naming the path.
 * @internal
 */
export function assertPlainJson(value: unknown, what: string): void {
  check(value, what, new Set(), 0);
}

function check(value: unknown, path: string, stack: Set<object>, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `is ${String(value)}, which JSON cannot carry (it would arrive as null)`);
      return;
    case 'object':
      break;
    default:
      fail(path, `is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which is not JSON`);
  }
  if (value === null) return;
  if (depth >= MAX_DEPTH) fail(path, `is nested more than ${MAX_DEPTH} levels deep`);
  if (stack.has(value)) fail(path, 'is a circular reference');
  stack.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) check(value[i], `${path}[${i}]`, stack, depth + 1);
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      fail(path, `is a ${(value as object).constructor?.name ?? 'non-plain'} object; only plain objects, arrays and primitives arrive as sent`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) fail(path, 'has symbol keys, which JSON drops');
    for (const [key, item] of Object.entries(value)) {
      // Like JSON.stringify, an undefined property is simply absent: `{ a: undefined }` arrives as `{}`.
      if (item !== undefined) check(item, `${path}.${key}`, stack, depth + 1);
    }
  }
  stack.delete(value);
}

function fail(path: string, why: string): never {
  throw new InvalidMessageError(`The message ${path} ${why}`);
}
