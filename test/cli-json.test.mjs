// The CLI's JSON carries every field of the library's Holder; list names slots NAME#k (issue 12, item 4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { list } from '../dist/index.js';
import { cli } from './cli-helpers.mjs';
import { lockName, startHolder } from './helpers.mjs';

test('two holders of --slots 2 are NAME#0 and NAME#1 in list (text and --json), with slot, startTime and protocol', async () => {
  const name = lockName('slots-list');
  const prefix = `${lockName('slots-prefix')}/`;
  const holders = [startHolder(name, { options: { slots: 2, prefix } }), startHolder(name, { options: { slots: 2, prefix } })];
  try {
    for (const holder of holders) assert.equal((await holder.events.next()).event, 'acquired');
    const library = await list({ prefix });
    assert.deepEqual(library.map((h) => [h.name, h.slot]), [[name, 0], [name, 1]]);
    const text = await cli(['list', '--prefix', prefix]);
    assert.equal(text.code, 0, text.stderr);
    const names = text.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/u)[0]);
    assert.deepEqual(names, [`${name}#0`, `${name}#1`]);
    const json = JSON.parse((await cli(['list', '--prefix', prefix, '--json'])).stdout);
    assert.deepEqual(json.map((h) => [h.name, h.slot]), [[`${name}#0`, 0], [`${name}#1`, 1]]);
    const pids = holders.map((h) => h.pid).sort((a, b) => a - b);
    assert.deepEqual(json.map((h) => h.pid).sort((a, b) => a - b), pids);
    for (const entry of json) {
      assert.equal(entry.protocol, 1);
      assert.ok(Number.isInteger(entry.startTime) && entry.startTime > 0);
      assert.ok(Array.isArray(entry.cmdline) && entry.cmdline.length > 0);
    }
    const status = JSON.parse((await cli(['status', `${name}#1`, '--prefix', prefix, '--json'])).stdout);
    assert.equal(status.slot, 1);
    assert.equal(status.protocol, 1);
    assert.ok(Number.isInteger(status.startTime));
  } finally {
    for (const holder of holders) holder.child.stdin.end();
    await Promise.all(holders.map((holder) => holder.exited));
  }
});
