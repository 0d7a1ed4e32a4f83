// extension/chat-model.ts with a user on two devices and unread counts that must not stick: my own
// messages from my other device are mine (not unread, not notified), a room left takes its count
// with it, and counts read back from a damaged globalState are bounded. Real tracker, real engines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToView } from '../../protocol/view.ts';
import { ChatModel, parseReadMarks } from '../../extension/chat-model.ts';
import { PASSWORD, makeEngine, roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test('messages I send from another device show as mine, never unread nor notified; a room left keeps no unread count', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const laptop = await makeEngine(t, tracker);
  await laptop.login('alice', PASSWORD);
  await bob.listPeers(); // bob has heard of the laptop (the tracker answers after its push)

  const posted: HostToView[] = [];
  const notified: string[] = [];
  const model = new ChatModel({ post: (m) => posted.push(m), visible: () => false, notify: (_k, title) => notified.push(title) }, `${tracker.host}:${tracker.port}`);
  model.attach(alice);
  await model.signedIn(alice);

  const mine = waitFor(alice, 'message', (m) => m.text === 'from my laptop');
  await laptop.sendRoom(id, 'from my laptop');
  await mine;
  assert.equal(model.totalUnread(), 0, 'my own message is not unread');
  assert.deepEqual(notified, [], 'nor notified');
  await model.openConversation(id);
  const opened = posted.filter((m): m is Extract<HostToView, { type: 'conversation/opened' }> => m.type === 'conversation/opened').at(-1)!;
  const row = opened.timeline.find((i) => i.kind === 'message' && i.text === 'from my laptop');
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
