// --coalesce and other users: a rerun runs the sender's command as the holder's user, so only the holder's own user
// (or root) may ask for one, even a user the holder admits for messages with allowUids.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockName } from './helpers.mjs';
import { actor, actorResult, isRoot, testUser } from './identity-helpers.mjs';

const skip = isRoot ? false : 'needs root to create a second user and run processes as that user';

test('a foreign user\'s rerun request is forbidden, even with allowUids; the holder\'s own user is accepted', { skip }, async () => {
  const user = testUser();
  const name = lockName('rerunforbid');
  const options = JSON.stringify({ scope: 'system', coalesce: true, allowUids: [user.uid] });
  const holder = actor(['hold', name, options]);
  await holder.events.next();
  try {
    const { hello, answer } = await actorResult(['request', name, '{"scope":"system"}', 'rerun'], { user });
    assert.equal(hello.type, 'hello');
    assert.equal(answer.type, 'error', JSON.stringify(answer));
    assert.equal(answer.code, 'forbidden');
    assert.match(answer.message, new RegExp(`not uid ${user.uid}`, 'u'));
    // The same request from the holder's own user (root here) is accepted.
    const { answer: own } = await actorResult(['request', name, '{"scope":"system"}', 'rerun']);
    assert.deepEqual(own.data, { accepted: true, triggers: 1 });
  } finally {
    await holder.end();
  }
});
