// `onlyone lock` on PostgreSQL: the same promise (freed when the caller ends, SIGKILL included); unlock needs a socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { delay, lockName } from './helpers.mjs';
import { cli, cliPath } from './cli-helpers.mjs';
import { postgresUnavailable, startPostgres } from './postgres-server.mjs';

const unavailable = postgresUnavailable();
let server;

describe('onlyone lock on postgres', { skip: unavailable, timeout: 120_000 }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  test('SIGKILL of the calling shell frees the lock; unlock exits 69 and says why', async () => {
    const name = lockName('pglock');
    const backend = ['--backend', server.url];
    const shell = spawn('sh', ['-c', `"$NODE" "$CLI" lock --backend "$URL" ${name} || exit 9; echo held; "$NODE" "$CLI" unlock --backend "$URL" ${name}; echo "unlock $?"; read line`], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE: process.execPath, CLI: cliPath, URL: server.url },
    });
    let stdout = '';
    let stderr = '';
    shell.stdout.on('data', (chunk) => { stdout += chunk; });
    shell.stderr.on('data', (chunk) => { stderr += chunk; });
    for (let i = 0; !stdout.includes('unlock') && i < 600; i++) await delay(50);
    assert.equal(stdout, 'held\nunlock 69\n', stderr);
    assert.match(stderr, /the postgres backend does not have; .* is freed when the script that locked it ends/);
    assert.equal((await cli(['status', ...backend, name])).code, 0, 'still held: unlock changed nothing');
    shell.kill('SIGKILL');
    await once(shell, 'exit');
    assert.equal((await cli(['wait', ...backend, '--timeout', '60s', name])).code, 0);
    assert.equal((await cli(['status', ...backend, name])).code, 1);
  });
});
