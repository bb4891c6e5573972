// Starts private etcd members for tests and benchmarks: free 127.0.0.1 ports, a temp data dir, fast raft timings
// (--heartbeat-interval 10 --election-timeout 100: ready in about 0.1 s), stopped and removed afterwards.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, unavailable } from './server-setup.mjs';

/** Why the etcd tests cannot run here, or undefined when they can. In CI (CI=true) a missing etcd is an error. */
export function etcdUnavailable() {
  const missing = [['etcd', '--version'], ['etcdctl', 'version']].filter(([bin, arg]) => spawnSync(bin, [arg], { stdio: 'ignore' }).status !== 0).map(([bin]) => bin);
  if (missing.length === 0) return undefined;
  const why = `${missing.join(' and ')} not found (apt-get install etcd-server etcd-client)`;
  return unavailable('etcd', why);
}

async function healthy(endpoint, timeoutMs, ca) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (ca !== undefined) {
        // fetch cannot take a CA: ask etcdctl, which can.
        if (spawnSync('etcdctl', ['--endpoints', endpoint, '--cacert', ca, 'endpoint', 'health'], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } }).status === 0) return true;
      } else {
        const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok && (await response.json()).health === 'true') return true;
      }
    } catch { /* not yet */ }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/**
 * Starts a cluster of `members` (1 or 3) on loopback. Returns { url, endpoints, etcdctl(...args), stopMember(i),
 * killMember(i), startMember(i), restart(), stop() }. `url` is the etcd:// URL onlyone takes, listing every member.
 */
export async function startEtcd({ members = 1, tls } = {}) {
  // `tls`: { cert, key } PEM files; clients then talk https (etcds://), members still talk plain http to each other.
  const scheme = tls === undefined ? 'http' : 'https';
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-etcd-'));
  const nodes = [];
  for (let i = 0; i < members; i++) nodes.push({ name: `m${i}`, client: await freePort(), peer: await freePort(), process: undefined });
  const cluster = nodes.map((n) => `${n.name}=http://127.0.0.1:${n.peer}`).join(',');
  const start = (node, state) => {
    node.process = spawn('etcd', [
      '--name', node.name,
      '--data-dir', join(dir, node.name),
      '--listen-client-urls', `${scheme}://127.0.0.1:${node.client}`,
      '--advertise-client-urls', `${scheme}://127.0.0.1:${node.client}`,
      ...(tls === undefined ? [] : ['--cert-file', tls.cert, '--key-file', tls.key]),
      '--listen-peer-urls', `http://127.0.0.1:${node.peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${node.peer}`,
      '--initial-cluster', cluster,
      '--initial-cluster-state', state,
      '--heartbeat-interval', '10',
      '--election-timeout', '100',
      '--log-level', 'error',
    ], { stdio: 'ignore' });
  };
  for (const node of nodes) start(node, 'new');
  const endpoint = (node) => `${scheme}://127.0.0.1:${node.client}`;
  const ready = await Promise.all(nodes.map((node) => healthy(endpoint(node), 20_000, tls?.cert)));
  const stopSync = () => {
    for (const node of nodes) node.process?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  if (!ready.every(Boolean)) {
    stopSync();
    throw new Error('etcd did not become healthy within 20 s');
  }
  const waitExit = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve)));
  return {
    url: `${tls === undefined ? 'etcd' : 'etcds'}://${nodes.map((n) => `127.0.0.1:${n.client}`).join(',')}`,
    endpoints: nodes.map(endpoint),
    /** Runs etcdctl against every member; returns stdout. */
    etcdctl(...args) {
      return execFileSync('etcdctl', ['--endpoints', nodes.map(endpoint).join(','), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
    },
    /** Spawns etcdctl (e.g. `lock NAME CMD`) against every member. */
    spawnEtcdctl(args, options = {}) {
      return spawn('etcdctl', ['--endpoints', nodes.map(endpoint).join(','), ...args], { ...options, env: { ...process.env, ETCDCTL_API: '3', ...options.env } });
    },
    /** Kills member `i` with `signal` and waits until it is gone. */
    async killMember(i, signal = 'SIGKILL') {
      const node = nodes[i];
      node.process.kill(signal);
      await waitExit(node.process);
    },
    /** Starts member `i` again on its data and waits until it is healthy. */
    async startMember(i) {
      start(nodes[i], 'existing');
      if (!(await healthy(endpoint(nodes[i]), 20_000, tls?.cert))) throw new Error(`member ${i} did not come back`);
    },
    /** Stops every member (SIGTERM) and starts them again on the same data. */
    async restart() {
      await Promise.all(nodes.map((_, i) => this.killMember(i, 'SIGTERM')));
      for (const node of nodes) start(node, 'existing');
      const back = await Promise.all(nodes.map((node) => healthy(endpoint(node), 20_000, tls?.cert)));
      if (!back.every(Boolean)) throw new Error('etcd did not come back after a restart');
    },
    stop() {
      process.removeListener('exit', stopSync);
      stopSync();
    },
  };
}
