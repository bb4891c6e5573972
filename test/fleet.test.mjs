// The fleet test, short: 5 hosts with clocks skewed by libfaketime, 4 windows of 5 s, lockfile and postgres, with
// the self-check (without --once-per the checker must see several runs per window). The full 20 windows run in CI
// through `npm run test:fleet -- --self-check`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { postgresUnavailable } from './postgres-server.mjs';

const script = fileURLToPath(new URL('./stress/fleet.mjs', import.meta.url));
const libfaketime = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const skip = !existsSync(libfaketime) ? 'libfaketime is not installed (apt-get install faketime)' : postgresUnavailable();

test('fleet: exactly one run per window across skewed hosts, and several without --once-per', { skip, timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [script, '--windows', '4', '--self-check'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  for (const backend of ['lockfile', 'postgres']) {
    assert.match(out, new RegExp(`^${backend}: [4-6] runs; runs per window \\(from window -1\\): [01] 1 1 1 1 [01]; 0 overlaps$`, 'mu'));
  }
  assert.equal(out.match(/\(caught\)$/gmu)?.length, 2, out);
  assert.match(out, /^fleet: PASSED$/mu);
});
