// Compiles the small C helpers the flock(1) anchors need, once, into .cache/bench/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './env.mjs';

/** Path of the compiled helper `name` (from bench/native/NAME.c), or undefined when gcc is missing. */
export function nativeHelper(name) {
  const source = join(root, 'bench/native', `${name}.c`);
  const dir = join(root, '.cache/bench');
  const binary = join(dir, name);
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('gcc', ['-O2', '-o', binary, source], { stdio: 'pipe' });
    return binary;
  } catch {
    return undefined;
  }
}

/** True when util-linux flock(1) is on PATH. */
export function hasFlock() {
  try {
    execFileSync('flock', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
