// The holder conformance suite (test/conformance/holder.mjs, for any implementation of docs/protocol.md) passes
// against onlyone's own holders, and fails against a holder that breaks the protocol.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lockName } from './helpers.mjs';
import { cliPath } from './cli-helpers.mjs';

const suite = fileURLToPath(new URL('conformance/holder.mjs', import.meta.url));

async function conformance(name, command) {
  // Without NODE_TEST_CONTEXT the suite reports as when a person runs it, not in node --test's binary stream.
  const { NODE_TEST_CONTEXT, ...env } = process.env;
  void NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--test-reporter=tap', suite, name, '--', ...command], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const [code] = await once(child, 'exit');
  return { code, output };
}

test('onlyone run --on-message passes the holder conformance suite', async () => {
  const name = lockName('conformance-cli');
  const { code, output } = await conformance(name, [process.execPath, cliPath, 'run', '--on-message', 'cat', name, '--', 'sleep', '300']);
  assert.equal(code, 0, output);
  assert.match(output, /# pass 1\d/u);
});

test('the library holder passes it too', async () => {
  const name = lockName('conformance-lib');
  const { code, output } = await conformance(name, [process.execPath, '--input-type=module', '-e', `
    const { acquire } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    await acquire(${JSON.stringify(name)}, { ref: true, onMessage: ({ data }) => data });`]);
  assert.equal(code, 0, output);
});

test('self-check: a holder that does not echo ids fails the suite', async () => {
  const name = lockName('conformance-broken');
  const { code, output } = await conformance(name, [process.execPath, fileURLToPath(new URL('conformance/broken-holder.mjs', import.meta.url)), name]);
  assert.notEqual(code, 0, output);
  assert.match(output, /not ok \d+ - §2\/§4 ids/u);
});
