// Unread by arrival (extension/read-state.ts ReadMark.arrived): a late message (its sender's clock
// behind) lands above my read position and is still unread: the "New messages" line goes above it
// (not left from the previous opening), and deleting it before I read it takes it off the counts.
// My read receipt from another device for a message the window does not hold (after a reload)
// counts from the store: what comes after it stays unread. Over real engines and a real tracker.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ReadMark } from '../../extension/chat-model.ts';
import { registered, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt, modelOf, twoDevices } from '../helpers/chat-model-scene.ts';

/**
 * alice, bob and carol in #team, alice's ChatModel signed in; carol's clock can be set behind
 * (`carolBehind` ms) so her next message is dated before what alice has read.
 */
async function lateScene(t: TestContext) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const clock = { behind: 0 };
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol', { now: () => Date.now() - clock.behind });
  const { id } = await alice.createRoom('team');
  for (const u of [bob, carol]) {
    const joined = waitFor(alice, 'member_joined', (e) => e.user === u.user);
    await u.joinRoom(id);
    await joined;
  }
  const screen = { visible: true };
  const { model, opened } = await modelOf(alice, { attention: () => lookingAt(screen.visible ? id : undefined) });
  const counts = () => {
    const r = model.roomItems().find((r) => r.key === id)!;
    return { unread: r.unread, mentions: r.mentions };
  };

  // alice reads bob's message with the view on screen, then hides it.
  const got = waitFor(alice, 'message', (m) => m.text === 'deploy done');
  const read = await bob.sendRoom(id, 'deploy done');
  await got;
  await model.openConversation(id);
  screen.visible = false;

  /** carol, her clock behind bob's message, mentions alice: dated before it, so above alice's read position. */
  const sendLate = async () => {
    // 100 ms before it at her clock, whatever time sending takes (far less).
    clock.behind = Date.now() - read.sentAt + 100;
    const late = waitFor(alice, 'message', (m) => m.text === '@alice rollback now');
    await carol.sendRoom(id, '@alice rollback now');
    const e = await late;
    assert.ok(e.late && e.sentAt < read.sentAt, 'the message is late, above what alice has read');
    return e;
  };
  return { alice, carol, id, screen, model, counts, opened, read, sendLate };
}

test('a late unread message: counted, and the "New messages" line goes above it when the conversation opens', { timeout: 120_000 }, async (t) => {
  const { id, screen, model, counts, opened, read, sendLate } = await lateScene(t);
  const late = await sendLate();
  assert.deepEqual(counts(), { unread: 1, mentions: 1 });

  screen.visible = true;
  await model.openConversation(id);
  const o = opened();
  const order = o.timeline.filter((i) => i.kind === 'message').map((i) => i.id);
  assert.ok(order.indexOf(late.id) < order.indexOf(read.id), 'shown above the message already read');
  assert.equal(o.firstUnread, late.id, 'the line is above the late message, not left above the one read before');
  assert.deepEqual(counts(), { unread: 0, mentions: 0 });
});

test('a late unread message deleted before it is read leaves the unread and mention counts', { timeout: 120_000 }, async (t) => {
  const { alice, carol, id, counts, sendLate } = await lateScene(t);
  const late = await sendLate();
  assert.deepEqual(counts(), { unread: 1, mentions: 1 });
  const deleted = waitFor(alice, 'deleted', (e) => e.id === late.id);
  await carol.deleteMessage({ room: id }, late.id);
  await deleted;
  assert.deepEqual(counts(), { unread: 0, mentions: 0 });
});

test('after a reload, my other device reading the first of three unread leaves two unread here', { timeout: 120_000 }, async (t) => {
  const { id, alice, bob, laptop } = await twoDevices(t);
  let saved: unknown;
  const readMarks = { load: () => saved, save: (_user: string, m: [string, ReadMark][]) => void (saved = m) };
  const { model: before } = await modelOf(alice, { readMarks });
  const texts = ['one', '@alice two', 'three'];
  const arrived = Promise.all(texts.map((x) => Promise.all([waitFor(alice, 'message', (m) => m.text === x), waitFor(laptop, 'message', (m) => m.text === x)])));
  const sent: string[] = [];
  for (const x of texts) sent.push((await bob.sendRoom(id, x)).id);
  await arrived;
  assert.equal(before.totalUnread(), 3);

  // The window reloads: a new model over the same engine and saved marks; the conversation is not opened.
  const { model, next } = await modelOf(alice, { readMarks });
  assert.equal(model.totalUnread(), 3);

  const told = next((m) => m.type === 'rooms/changed');
  await laptop.markRead({ room: id }, sent[0]!);
  await told;
  const room = model.roomItems().find((r) => r.key === id)!;
  assert.deepEqual({ unread: room.unread, mentions: room.mentions }, { unread: 2, mentions: 1 }, '"two" and "three" are still unread');
});
