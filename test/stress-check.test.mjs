// The stress checker must catch what it claims to catch: overlaps, and sections cut short by a kill.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { check } from './stress/check.mjs';

function logs(files) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-check-'));
  for (const [file, lines] of Object.entries(files)) writeFileSync(join(dir, file), `${lines.join('\n')}\n`);
  return dir;
}

test('stress checker: back-to-back sections pass, and the longest wait is reported', (t) => {
  const dir = logs({ a: ['WAIT 1 100', 'ACQUIRED 1 100', 'RELEASED 1 200'], b: ['WAIT 2 150', 'ACQUIRED 2 250', 'RELEASED 2 300'] });
  t.after(() => rmSync(dir, { recursive: true }));
  const result = check(dir, 1);
  assert.equal(result.sections, 2);
  assert.equal(result.maxOverlap, 1);
  assert.deepEqual(result.violations, []);
  assert.equal(result.longestWaitMs, 100 / 1e6);
});

test('stress checker: overlapping sections are a violation', (t) => {
  const dir = logs({ a: ['ACQUIRED 1 100', 'RELEASED 1 300'], b: ['ACQUIRED 2 200', 'RELEASED 2 400'] });
  t.after(() => rmSync(dir, { recursive: true }));
  const result = check(dir, 1);
  assert.equal(result.maxOverlap, 2);
  assert.equal(result.violations.length, 1);
  assert.equal(check(dir, 2).violations.length, 0);
});

test('stress checker: a killed holder holds until its kill, not forever', (t) => {
  const before = logs({ a: ['ACQUIRED 1 100'], b: ['ACQUIRED 2 300', 'RELEASED 2 400'], chaos: ['KILL 1 250 260'] });
  const after = logs({ a: ['ACQUIRED 1 100'], b: ['ACQUIRED 2 300', 'RELEASED 2 400'], chaos: ['KILL 1 350 360'] });
  const never = logs({ a: ['ACQUIRED 1 100'] });
  t.after(() => [before, after, never].forEach((dir) => rmSync(dir, { recursive: true })));
  assert.equal(check(before, 1).violations.length, 0);
  assert.equal(check(before, 1).killedHolders, 1);
  assert.equal(check(after, 1).violations.length, 1);
  assert.equal(check(never, 1).unended.length, 1);
});

test('stress checker: a holder that logged ACQUIRED while its killer was between clock and kill() ends there', (t) => {
  // The killer read 90, was preempted, the victim logged ACQUIRED at 100, kill() returned at 120.
  const raced = logs({ a: ['WAIT 1 50', 'ACQUIRED 1 100'], b: ['WAIT 2 60', 'ACQUIRED 2 150', 'RELEASED 2 200'], chaos: ['KILL 1 90 120'] });
  // A kill that returned before the section began cannot have ended it.
  const earlier = logs({ a: ['ACQUIRED 1 100'], chaos: ['KILL 1 40 60'] });
  t.after(() => [raced, earlier].forEach((dir) => rmSync(dir, { recursive: true })));
  const result = check(raced, 1);
  assert.deepEqual(result.unended, []);
  assert.equal(result.killedHolders, 1);
  assert.equal(result.violations.length, 0);
  assert.equal(check(earlier, 1).unended.length, 1);
});
