// extension/chat-model.ts with a user on two devices and unread counts that must not stick: my own
// messages from my other device are mine (not unread, not notified), a room left takes its count
// with it, and counts read back from a damaged globalState are bounded. Real tracker, real engines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReadMarks } from '../../extension/chat-model.ts';
import { waitFor } from '../helpers/engines.ts';
import { modelOf, twoDevices } from '../helpers/chat-model-scene.ts';

test('messages I send from another device show as mine, never unread nor notified; a room left keeps no unread count', { timeout: 120_000 }, async (t) => {
  const { tracker, id, alice, bob, laptop } = await twoDevices(t);
  const notified: string[] = [];
  const { model, opened } = await modelOf(alice, { notify: (_k, title) => void notified.push(title) }, `${tracker.host}:${tracker.port}`);

  const mine = waitFor(alice, 'message', (m) => m.text === 'from my laptop');
  await laptop.sendRoom(id, 'from my laptop');
  await mine;
  assert.equal(model.totalUnread(), 0, 'my own message is not unread');
  assert.deepEqual(notified, [], 'nor notified');
  await model.openConversation(id);
  const row = opened().timeline.find((i) => i.kind === 'message' && i.text === 'from my laptop');
  assert.ok(row && row.kind === 'message' && row.mine, 'drawn as mine');
  model.closeConversation(id);

  const theirs = waitFor(alice, 'message', (m) => m.text === 'from bob');
  await bob.sendRoom(id, 'from bob');
  await theirs;
  assert.equal(model.totalUnread(), 1);
  await alice.leaveRoom(id);
  model.closeConversation(id);
  assert.equal(model.totalUnread(), 0, 'the room left takes its count with it');
  model.signedOut();
});

test('read marks from a damaged globalState: counts beyond any real conversation are dropped', () => {
  const marks = parseReadMarks([
    ['a', { unread: Number.MAX_SAFE_INTEGER, mentions: 0 }],
    ['b', { unread: 3, mentions: 9 }],
    ['c', { unread: -1, mentions: 0 }],
  ]);
  assert.deepEqual([...marks.keys()], ['b']);
  assert.deepEqual(marks.get('b'), { unread: 3, mentions: 3 });
});
