// Where benchmarks run: paths, names, machine description, main-module detection.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const distEntry = join(root, 'dist/index.js');

/** A lock name unique to this run. */
export const benchName = (tag) => `bench-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;

/** A NUL-padded abstract address (108 bytes, like onlyone's v1 addresses) for raw `net` anchors. */
export function rawAddress(tag) {
  const body = `onlyone-bench-raw/${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return `\0${body}${'\0'.repeat(107 - Buffer.byteLength(body))}`;
}

export const tempDir = () => mkdtempSync(join(tmpdir(), 'onlyone-bench-'));

/** True when `metaUrl` is the script node was started with. */
export const isMain = (metaUrl) => process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === metaUrl;

/** Node version, CPU model and count, kernel: what a result is only valid for. */
export function machine() {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/mu.exec(info)?.[1] ?? cpu;
  } catch {}
  let kernel = '';
  try { kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(); } catch {}
  return { node: process.version, uv: process.versions.uv, cpu, cores: cpus().length, kernel, date: new Date().toISOString() };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
