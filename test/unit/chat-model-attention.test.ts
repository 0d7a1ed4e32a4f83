// A message is read (no unread count, no notification, a read receipt: "seen by bob" at alice)
// only when bob can have seen it: his chat view on screen, in a focused VS Code window, showing
// the newest end of that conversation (extension/attention.ts, the one gate of
// extension/chat-model.ts). Over real engines, a real tracker and real links. A sidebar left open
// while bob is at lunch, or a view scrolled back to a search result, sends no receipt; focus
// coming back, or scrolling down to the newest, sends it then.
//
// "No receipt yet" is checked with a later marker message: bob sends it after the message was
// handled, and alice gets bob's messages and receipts in the order he sent them.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Attention } from '../../extension/attention.ts';
import { roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { modelOf } from '../helpers/chat-model-scene.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** alice and bob in #general; bob's ChatModel, its window's attention `screen`, his notifications, and alice's receipts from bob. */
async function scene(t: TestContext, screen: Attention) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines as { alice: TestEngine; bob: TestEngine };
  const notified: string[] = [];
  const view = await modelOf(bob, { attention: () => [{ ...screen }], notify: (_kind, _title, text) => void notified.push(text) });
  const receipts: string[] = [];
  alice.on('read', (e) => e.user === 'bob' && e.roomId === id && receipts.push(e.upTo));
  /** alice sends `text`; its id once bob's model has it. */
  const arrive = async (text: string) => {
    const got = waitFor(bob, 'message', (m) => m.text === text);
    const m = await alice.sendRoom(id, text);
    await got;
    return m.id;
  };
  /** bob sends a marker message; resolves once alice has it (and so every receipt bob sent before it). */
  const marker = async (text: string) => {
    const got = waitFor(alice, 'message', (m) => m.text === text);
    await bob.sendRoom(id, text);
    await got;
  };
  const unread = () => view.model.roomItems().find((r) => r.key === id)!.unread;
  return { alice, bob, id, ...view, notified, receipts, arrive, marker, unread };
}

test('visible but the window in the background: not read, counted, notified, no receipt; focus comes back: read, the receipt goes, the line stays', { timeout: 120_000 }, async (t) => {
  const screen: Attention = { visible: false, focused: true };
  const s = await scene(t, screen);
  screen.atNewest = s.id;
  const first = await s.arrive('before lunch');
  assert.equal(s.unread(), 1);

  // bob leaves for lunch with the chat in the sidebar, #general open at its newest.
  screen.visible = true;
  screen.focused = false;
  await s.model.openConversation(s.id);
  assert.equal(s.opened().firstUnread, first, 'the "New messages" line is above the first unread');
  const question = await s.arrive('are you there? need a yes/no before 3pm');
  await s.marker('marker 1');
  assert.deepEqual(s.receipts, [], 'alice is not told bob read what he was not shown');
  assert.equal(s.unread(), 2, 'both count as unread');
  assert.deepEqual(s.notified, ['before lunch', 'are you there? need a yes/no before 3pm'], 'notified as for a hidden view');

  // bob is back: the window gets the focus; what the view shows is read now, and the receipt goes.
  const receipt = waitFor(s.alice, 'read', (e) => e.user === 'bob' && e.upTo === question);
  screen.focused = true;
  s.model.attentionChanged();
  await receipt;
  assert.equal(s.unread(), 0, 'read once focused');
  assert.equal(s.model.snapshot().open?.firstUnread, first, 'the "New messages" line stays where this opening put it');
  assert.ok(s.posted.some((m) => m.type === 'rooms/changed' && m.rooms.every((r) => r.unread === 0)), 'the sidebar is told');
});

test('focused and visible but scrolled back (a search result far back): not read, no receipt, no notification; scrolled down to the newest: the receipt goes', { timeout: 120_000 }, async (t) => {
  // The view is looked at, its newest end not on screen (the webview said view/atNewest false).
  const screen: Attention = { visible: true, focused: true };
  const s = await scene(t, screen);
  await s.model.openConversation(s.id);
  const question = await s.arrive('are you there?');
  await s.marker('marker 1');
  assert.deepEqual(s.receipts, [], 'alice is not told bob read what waits below his view');
  assert.equal(s.unread(), 1, 'counted unread');
  assert.deepEqual(s.notified, [], 'no notification: bob is looking at the chat');

  // bob scrolls down to the newest: read now, and the receipt goes.
  const receipt = waitFor(s.alice, 'read', (e) => e.user === 'bob' && e.upTo === question);
  screen.atNewest = s.id;
  s.model.attentionChanged();
  await receipt;
  assert.equal(s.unread(), 0);

  // At the newest, focused and visible: a message is read as it arrives.
  const next = await s.arrive('thanks!');
  assert.equal(s.unread(), 0, 'read as it arrives');
  assert.deepEqual(s.notified, []);
  await waitFor(s.alice, 'read', (e) => e.user === 'bob' && e.upTo === next);
});
