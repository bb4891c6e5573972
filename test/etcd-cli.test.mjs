// `onlyone run --backend etcd://…` against a private etcd member: ONLYONE_FENCE, conflicts naming the holder, the
// command's tree killed before the lock can pass on, and clear errors for a bad URL, a wrong password, a dead server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cli } from './cli-helpers.mjs';
import { delay, exitOf, fixture, jsonLines, lockName, running } from './helpers.mjs';
import { etcdUnavailable, startEtcd } from './etcd-server.mjs';

const cliPath = new URL('../dist/cli/main.js', import.meta.url).pathname;
const unavailable = etcdUnavailable();
const LOST = 79;
/** --ttl of the stop and kill tests: the shortest etcd grants with the test members' raft timings. */
const TTL = 2;
let server;

// The command: reports its pid and fence, then works every 20 ms; each unit of work is appended to WORK_LOG with a
// CLOCK_MONOTONIC stamp, so the test can read all of it once the command is dead.
const WORKER = `
const emit = (e) => process.stdout.write(JSON.stringify(e) + '\\n');
emit({ event: 'started', pid: process.pid, fence: process.env.ONLYONE_FENCE });
process.on('SIGTERM', () => { emit({ event: 'sigterm' }); process.exit(143); });
const log = require('node:fs').openSync(process.env.WORK_LOG, 'a');
setInterval(() => {
  require('node:fs').writeSync(log, String(process.hrtime.bigint()) + '\\n');
  emit({ event: 'work' });
}, 20);
`;

function run(t, name, args, { detached = false } = {}) {
  const workLog = join(mkdtempSync(join(tmpdir(), 'onlyone-work-')), 'log');
  t.after(() => rmSync(dirname(workLog), { recursive: true, force: true }));
  const child = spawn(process.execPath, [cliPath, 'run', '--backend', server.url, ...args, name, '--', process.execPath, '-e', WORKER], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WORK_LOG: workLog },
    detached,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  t.after(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(detached ? -child.pid : child.pid, 'SIGCONT'); process.kill(detached ? -child.pid : child.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  const work = () => {
    try { return readFileSync(workLog, 'utf8').split('\n').filter(Boolean).map(BigInt); } catch { return []; }
  };
  const events = jsonLines(child.stdout);
  // A command that outlived a failed test must not run on: kill it by the pid it reported.
  let commandPid;
  const nextEvent = events.next;
  events.next = async (...args) => {
    const event = await nextEvent(...args);
    if (event.event === 'started' && commandPid === undefined) {
      commandPid = event.pid;
      t.after(() => { try { process.kill(commandPid, 'SIGKILL'); } catch { /* gone */ } });
    }
    return event;
  };
  return { child, events, work, stderr: () => stderr };
}

function waiter(t, name) {
  const child = spawn(process.execPath, [fixture('etcd-actor.mjs'), name, JSON.stringify({ backend: 'etcd', url: server.url }), 'turn', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  return { child, events: jsonLines(child.stdout) };
}

/** Resolves once `name` has `count` keys queued (holder first): a waiter counts only once etcd has its key. */
async function queued(name, count) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const keys = server.etcdctl('get', '--prefix', '--keys-only', `onlyone/v1/${name}/`).split('\n').filter(Boolean);
    if (keys.length >= count) return;
    if (Date.now() > deadline) throw new Error(`${name}: ${keys.length} keys queued, not ${count}`);
    await delay(20);
  }
}

// Generous: on a loaded machine a node process may take seconds to start. Timings are measured between events.
async function nextOf(events, kind) {
  for (;;) {
    const event = await events.next(60_000);
    if (event.event === kind) return event;
    if (event.event === 'error') throw new Error(`failed: ${event.message}`);
  }
}

function closedPort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

describe('onlyone run on etcd', { skip: unavailable, timeout: 300_000 }, () => {
  before(async () => {
    server = await startEtcd();
  });
  after(() => server?.stop());

  test('the command gets ONLYONE_FENCE, larger on every run; a second run is refused naming the holder', async (t) => {
    const name = lockName('clifence');
    const first = run(t, name, []);
    const started = await nextOf(first.events, 'started');
    assert.match(started.fence, /^\d+$/u);
    const second = await cli(['run', '--backend', server.url, name, '--', 'true']);
    assert.equal(second.code, 75);
    assert.match(second.stderr, new RegExp(`${name} is already running \\(pid ${first.child.pid}.*on ${hostname()}|pid ${first.child.pid}`, 'u'));
    const status = await cli(['status', '--json', '--backend', server.url, name]);
    assert.equal(status.code, 0);
    assert.equal(JSON.parse(status.stdout).fence, started.fence);
    first.child.kill('SIGTERM');
    await exitOf(first.child);
    const third = run(t, name, []);
    const again = await nextOf(third.events, 'started');
    assert.ok(BigInt(again.fence) > BigInt(started.fence));
    third.child.kill('SIGTERM');
    await exitOf(third.child);
  });

  test('etcd unreachable past the TTL while the command runs: the command is killed and run exits with the lost status', async (t) => {
    const name = lockName('clidown');
    const r = run(t, name, ['--grace', '1', '--ttl', String(TTL)]);
    const { pid } = await nextOf(r.events, 'started');
    await server.killMember(0);
    try {
      // No polite SIGTERM: etcd may already have handed the lock on, so the tree is killed at once.
      assert.equal((await exitOf(r.child)).code, LOST);
      assert.match(r.stderr(), /was lost: no keepalive of its etcd lease was answered.*; killing the command's process tree/u);
      assert.equal(running(pid), false);
    } finally {
      await server.startMember(0);
    }
  });

  // CLOCK_MONOTONIC stamps of the command's work and of the waiter's grant: "the tree is dead before the other
  // holder's grant" means no work is stamped after the grant, and the command is gone by then.
  for (const target of ['onlyone alone', 'onlyone and its command (job-control stop)']) {
    test(`SIGSTOP of ${target} past the TTL: the command is killed before the waiter's grant; on SIGCONT run exits ${LOST}`, async (t) => {
      const name = lockName('clistop');
      const group = target !== 'onlyone alone';
      const r = run(t, name, ['--grace', '1', '--ttl', String(TTL)], { detached: true });
      const { pid } = await nextOf(r.events, 'started');
      await nextOf(r.events, 'work');
      const w = waiter(t, name);
      await queued(name, 2);
      const stoppedAt = process.hrtime.bigint();
      process.kill(group ? -r.child.pid : r.child.pid, 'SIGSTOP');
      const got = await nextOf(w.events, 'acquired');
      const waitedMs = Number(BigInt(got.mono) - stoppedAt) / 1e6;
      assert.ok(waitedMs < TTL * 1000 + 1500, `waiter took ${waitedMs} ms`);
      assert.equal(running(pid), false, 'the command still runs after the lock passed on');
      const lastWork = r.work().at(-1) ?? 0n;
      assert.ok(lastWork > 0n && lastWork < BigInt(got.mono), `work at ${lastWork} after the waiter acquired at ${got.mono}`);
      process.kill(group ? -r.child.pid : r.child.pid, 'SIGCONT');
      assert.equal((await exitOf(r.child)).code, LOST);
      assert.equal(r.work().at(-1), lastWork, 'work after SIGCONT');
      t.diagnostic(`lock passed on ${waitedMs.toFixed(0)} ms after SIGSTOP; the command's last work ${(Number(BigInt(got.mono) - lastWork) / 1e6).toFixed(0)} ms before that`);
    });
  }

  test('SIGKILL of onlyone: its command is killed at once, and a waiter takes over within TTL + 1 s', async (t) => {
    const name = lockName('clikill');
    const r = run(t, name, ['--ttl', String(TTL)]);
    const { pid } = await nextOf(r.events, 'started');
    await nextOf(r.events, 'work');
    const w = waiter(t, name);
    await queued(name, 2);
    const killedAt = process.hrtime.bigint();
    r.child.kill('SIGKILL');
    const got = await nextOf(w.events, 'acquired');
    const waitedMs = Number(BigInt(got.mono) - killedAt) / 1e6;
    assert.ok(waitedMs < TTL * 1000 + 1000, `waiter took ${waitedMs} ms`);
    assert.equal(running(pid), false);
    const lastWork = r.work().at(-1) ?? 0n;
    assert.ok(lastWork > 0n && lastWork < BigInt(got.mono), 'the command worked after the waiter acquired');
    t.diagnostic(`command's last work ${(Number(lastWork - killedAt) / 1e6).toFixed(0)} ms after SIGKILL of onlyone; lock passed on after ${waitedMs.toFixed(0)} ms`);
  });

  test('a bad URL is a usage error (64), a dead server is unavailable (69), each at once and in one line', async () => {
    const bad = await cli(['run', '--backend', 'etcd://user:hunter2@host:notaport', lockName('badurl'), '--', 'true']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /not a valid host:port/u);
    assert.doesNotMatch(bad.stderr, /hunter2/u);
    const port = await closedPort();
    // A process that only starts and exits, for comparison: the machine may be loaded.
    let startedAt = Date.now();
    await cli(['--version']);
    const startMs = Date.now() - startedAt;
    startedAt = Date.now();
    const down = await cli(['run', '--backend', `etcd://127.0.0.1:${port}`, lockName('down'), '--', 'true']);
    assert.equal(down.code, 69);
    assert.match(down.stderr, new RegExp(`^onlyone: cannot reach etcd at http://127.0.0.1:${port}: .*ECONNREFUSED.*\\n$`, 'u'));
    const downMs = Date.now() - startedAt;
    assert.ok(downMs < startMs + 3000, `a refused connection should fail at once: ${downMs} ms, against ${startMs} ms for --version`);
    assert.equal((await cli(['status', '--backend', `etcd://127.0.0.1:${port}`, 'x'])).code, 69);
    assert.equal((await cli(['run', '--ttl', '0', '--backend', server.url, 'x', '--', 'true'])).code, 64);
    assert.equal((await cli(['run', '--ttl', '5', 'x', '--', 'true'])).code, 64);
    assert.equal((await cli(['run', '--ttl', '1.5s', '--backend', server.url, 'x', '--', 'true'])).code, 64);
  });
});

describe('onlyone on etcd with authentication', { skip: unavailable, timeout: 180_000 }, () => {
  let secured;
  before(async () => {
    secured = await startEtcd();
    secured.etcdctl('user', 'add', 'root:s3cret-pw');
    secured.etcdctl('auth', 'enable');
  });
  after(() => secured?.stop());

  test('the right password runs the command; a wrong one or none is a clear error (69) that never shows the password', async () => {
    const hosts = secured.url.slice('etcd://'.length);
    const name = lockName('auth');
    const ok = await cli(['run', '--backend', `etcd://root:s3cret-pw@${hosts}`, name, '--', 'sh', '-c', 'echo "fence $ONLYONE_FENCE"']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^fence \d+$/mu);
    const viaEnv = await cli(['run', '--backend', `etcd://${hosts}`, name, '--', 'true'], { env: { ETCDCTL_USER: 'root:s3cret-pw' } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const wrong = await cli(['run', '--backend', `etcd://root:not-it@${hosts}`, name, '--', 'true']);
    assert.equal(wrong.code, 69);
    assert.match(wrong.stderr, /^onlyone: etcd at .* refused the login of user "root": .*invalid user ID or password\n$/u);
    assert.doesNotMatch(wrong.stderr, /not-it/u);
    const none = await cli(['status', '--backend', `etcd://${hosts}`, name]);
    assert.equal(none.code, 69);
    assert.match(none.stderr, /requires a login/u);
  });
});

const noOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0 ? undefined : 'openssl not found';
describe('onlyone on etcd over TLS (etcds://)', { skip: unavailable ?? noOpenssl, timeout: 180_000 }, () => {
  let secure;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onlyone-etcd-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    secure = await startEtcd({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
  });
  after(() => {
    secure?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('etcds:// runs the command with a trusted CA, and refuses an untrusted certificate with a clear error (69)', async () => {
    const name = lockName('tls');
    const ok = await cli(['run', '--backend', secure.url, name, '--', 'sh', '-c', 'echo "fence $ONLYONE_FENCE"'], { env: { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^fence \d+$/mu);
    const untrusted = await cli(['run', '--backend', secure.url, name, '--', 'true']);
    assert.equal(untrusted.code, 69);
    assert.match(untrusted.stderr, /^onlyone: cannot reach etcd at https:\/\/127\.0\.0\.1:\d+: self-signed certificate(?:;[^\n]*)?\n$/u);
  });
});
