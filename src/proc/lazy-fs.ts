import fs from 'node:fs';

/**
 * `fs.promises`, loaded on first use. Importing `node:fs/promises` at start-up pulls in streams, readline
 * and the file watchers (about 3 ms on Node 20), which the CLI's `run` path never needs.
 * @internal
 */
export function fsp(): typeof fs.promises {
  return fs.promises;
}
