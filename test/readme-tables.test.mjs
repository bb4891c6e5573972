// The README's exit-status table is generated from src/cli/exit-codes.ts, the table the CLI uses, and its JSON
// schema table lists exactly the keys `status --json` prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitCodes, withExitTable } from '../scripts/readme-tables.mjs';
import { cli } from './cli-helpers.mjs';
import { lockName } from './helpers.mjs';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

test('the README exit-status table is the one in src/cli/exit-codes.ts (npm run docs:exit-codes)', () => {
  assert.equal(withExitTable(readme), readme);
  const codes = [...readme.matchAll(/^\| (\d+) \|/gmu)].map((match) => Number(match[1]));
  assert.deepEqual(codes, exitCodes.EXIT_STATUSES.map((status) => status.code));
});

test('--help lists every exit status of the same table', async () => {
  const help = (await cli(['--help'])).stdout;
  for (const { code } of exitCodes.EXIT_STATUSES) assert.match(help, new RegExp(`^  ${code} +\\S`, 'mu'), `exit ${code}`);
});

test('the README JSON schema names every key status --json prints, in order', async () => {
  const section = readme.slice(readme.indexOf('<!-- json-schema:begin -->'), readme.indexOf('<!-- json-schema:end -->'));
  const documented = [...section.matchAll(/^\| `([a-zA-Z]+)` \|/gmu)].map((match) => match[1]);
  const printed = Object.keys(JSON.parse((await cli(['status', lockName('schema'), '--json'])).stdout));
  assert.deepEqual(documented, printed);
});
