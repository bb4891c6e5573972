// Starts a private PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl on 127.0.0.1 and a free port, in a
// temp dir, stopped (and removed) afterwards. As root, the server runs as the `postgres` system user.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, unavailable } from './server-setup.mjs';

/** The newest Debian-layout PostgreSQL bin dir (/usr/lib/postgresql/<version>/bin), or undefined. */
export function findPostgresBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined;
}

/**
 * Why the postgres tests cannot run here, or undefined when they can. In CI (CI=true) a missing server is an error,
 * never a skip.
 */
export function postgresUnavailable() {
  if (findPostgresBin() !== undefined) return undefined;
  const why = 'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  return unavailable('postgres', why);
}

const asRoot = process.getuid?.() === 0;

function runAsOwner(bin, args) {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

/**
 * Starts a cluster. Returns { url, port, dir, restart(mode), stop() }. The superuser is `onlyone`, trust auth.
 */
export async function startPostgres({ settings = {} } = {}) {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL server binaries not found');
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  runAsOwner(join(bin, 'initdb'), ['-D', data, '-U', 'onlyone', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const conf = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: "'16MB'",
    ...settings,
  };
  let port;
  let started = false;
  for (let tries = 0; tries < 5 && !started; tries++) {
    port = await freePort();
    appendFileSync(join(data, 'postgresql.conf'), `${Object.entries({ ...conf, port: String(port) }).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
    const result = spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), [...(asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []), 'start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log')], { stdio: 'ignore' });
    started = result.status === 0;
  }
  if (!started) throw new Error(`pg_ctl start failed; see ${join(dir, 'log')}`);
  const pgCtl = (...args) => runAsOwner(join(bin, 'pg_ctl'), [...args, '-D', data]);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try { pgCtl('stop', '-m', 'immediate', '-w'); } catch { /* already down */ }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  return {
    url: `postgres://onlyone@127.0.0.1:${port}/postgres`,
    port,
    dir,
    log: join(dir, 'log'),
    /** Restarts the server; `fast` ends every session with an error, `immediate` drops them. */
    restart(mode = 'fast') {
      pgCtl('restart', '-m', mode, '-w', '-t', '60', '-l', join(dir, 'log'));
    },
    stop() {
      process.removeListener('exit', stopSync);
      stopSync();
    },
  };
}
