// An unread message deleted before it was read no longer counts as unread, nor as a mention
// (extension/chat-model.ts onDeleted, read-state.ts countedUnread and ReadMarks.unreadGone), and one
// edited to mention me, or not any more, counts as a mention or stops (onEdited, mentionChanged); over
// real engines, a real tracker and real links. Messages already read, and a second delete, change nothing.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { HostToView } from '../../protocol/view.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import { roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt } from '../helpers/chat-model-scene.ts';

/**
 * alice and bob in #general over a real tracker, and alice's ChatModel signed in: the view shown
 * while `screen.visible`, what it was posted, its counts for the room, and bob's messages sent
 * once alice has each of them.
 */
async function scene(t: TestContext, visible: boolean, post?: (m: HostToView, room: string) => void) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const screen = { visible };
  const posted: HostToView[] = [];
  const model = new ChatModel({ post: (m) => (posted.push(m), post?.(m, id)), attention: () => lookingAt(screen.visible ? id : undefined), notify: () => {} }, 'tracker');
  model.attach(alice);
  await model.signedIn(alice);
  const counts = () => {
    const item = model.roomItems().find((r) => r.key === id)!;
    return { unread: item.unread, mentions: item.mentions };
  };
  /** bob sends `texts` in order; their ids once alice has them all. */
  const send = async (texts: readonly string[]) => {
    const arrived = Promise.all(texts.map((text) => waitFor(alice, 'message', (m) => m.text === text)));
    const sent: string[] = [];
    for (const text of texts) sent.push((await bob.sendRoom(id, text)).id);
    await arrived;
    return sent;
  };
  return { alice, bob, id, screen, posted, model, counts, send };
}

test('a deleted unread message leaves the unread and mention counts; a read one changes nothing', { timeout: 120_000 }, async (t) => {
  const { alice, bob, id, screen, posted, model, counts, send } = await scene(t, true);

  // alice reads "hello" with the view on screen, then hides it; three more come, one mentioning her.
  const hello = waitFor(alice, 'message', (m) => m.text === 'hello');
  const read = await bob.sendRoom(id, 'hello');
  await hello;
  await model.openConversation(id);
  screen.visible = false;
  const sent = await send(['one', '@alice the secret is hunter2', 'three']);
  assert.deepEqual(counts(), { unread: 3, mentions: 1 });

  // bob deletes the mention before alice read it: neither count holds it any more, and the sidebar is told.
  let deleted = waitFor(alice, 'deleted', (e) => e.id === sent[1]);
  await bob.deleteMessage({ room: id }, sent[1]!);
  await deleted;
  assert.deepEqual(counts(), { unread: 2, mentions: 0 });
  assert.equal(model.totalUnread(), 2);
  const rooms = posted.filter((m): m is Extract<HostToView, { type: 'rooms/changed' }> => m.type === 'rooms/changed').at(-1);
  assert.deepEqual(rooms?.rooms.find((r) => r.key === id)?.unread, 2, 'the sidebar got the new count');

  // A message alice had read ("hello") is deleted: the unread count stays.
  deleted = waitFor(alice, 'deleted', (e) => e.id === read.id);
  await bob.deleteMessage({ room: id }, read.id);
  await deleted;
  assert.deepEqual(counts(), { unread: 2, mentions: 0 });

  // The newest unread one goes too; opening the conversation then puts the line above "one".
  deleted = waitFor(alice, 'deleted', (e) => e.id === sent[2]);
  await bob.deleteMessage({ room: id }, sent[2]!);
  await deleted;
  assert.deepEqual(counts(), { unread: 1, mentions: 0 });
  screen.visible = true;
  await model.openConversation(id);
  const opened = posted.filter((m): m is Extract<HostToView, { type: 'conversation/opened' }> => m.type === 'conversation/opened').at(-1);
  assert.equal(opened?.firstUnread, sent[0], 'the "New messages" line is above "one"');
  assert.deepEqual(counts(), { unread: 0, mentions: 0 });
});

test('a deleted unread message in a conversation never read here leaves the count', { timeout: 120_000 }, async (t) => {
  const { alice, bob, id, model, counts, send } = await scene(t, false);
  const sent = await send(['first', 'second @alice']);
  assert.equal(model.totalUnread(), 2);
  const deleted = waitFor(alice, 'deleted', (e) => e.id === sent[1]);
  await bob.deleteMessage({ room: id }, sent[1]!);
  await deleted;
  assert.deepEqual(counts(), { unread: 1, mentions: 0 });
});

test('an unread message edited to mention me counts as a mention; edited to drop it, it stops counting; a read one changes nothing', { timeout: 120_000 }, async (t) => {
  const { alice, bob, id, screen, posted, model, counts, send } = await scene(t, false);
  const sent = await send(['@alice can you review?', 'plain', 'later']);
  assert.deepEqual(counts(), { unread: 3, mentions: 1 });
  const edit = async (i: number, text: string) => {
    const edited = waitFor(alice, 'edited', (e) => e.id === sent[i] && e.text === text);
    await bob.edit({ room: id }, sent[i]!, text);
    await edited;
  };

  // The mention taken out (bob asked carol instead): no longer a mention; the sidebar is told.
  const roomsBefore = posted.filter((m) => m.type === 'rooms/changed').length;
  await edit(0, '@carol can you review?');
  assert.deepEqual(counts(), { unread: 3, mentions: 0 });
  assert.ok(posted.filter((m) => m.type === 'rooms/changed').length > roomsBefore, 'the sidebar got the new count');
  // Another message edited to mention me: one mention; edited again with the mention kept: still one.
  await edit(1, 'plain, @alice fyi');
  assert.deepEqual(counts(), { unread: 3, mentions: 1 });
  await edit(1, 'plain, @alice fyi (typo)');
  assert.deepEqual(counts(), { unread: 3, mentions: 1 });

  // Once read, an edit that mentions me is not a new mention.
  screen.visible = true;
  await model.openConversation(id);
  await model.closeConversation(id);
  assert.deepEqual(counts(), { unread: 0, mentions: 0 });
  await edit(2, 'later @alice');
  assert.deepEqual(counts(), { unread: 0, mentions: 0 });
});

test('an unread message older than the window held here, deleted, leaves the count too', { timeout: 180_000 }, async (t) => {
  let onCount: ((n: number) => void) | undefined;
  const { alice, bob, id, screen, model } = await scene(t, true, (m, room) => {
    if (m.type !== 'rooms/changed') return;
    const n = m.rooms.find((r) => r.key === room)?.unread;
    if (n !== undefined) onCount?.(n);
  });
  const hello = waitFor(alice, 'message', (m) => m.text === 'hello');
  await bob.sendRoom(id, 'hello');
  await hello;
  await model.openConversation(id);
  screen.visible = false;
  // More unread messages than the window holds (MAX_ITEMS 600): the oldest leave it.
  const total = 650;
  const arrived = new Promise<void>((resolve) => {
    let n = 0;
    alice.on('message', (m) => m.roomId === id && ++n === total && resolve());
  });
  const sent: string[] = [];
  for (let i = 0; i < total; i++) sent.push((await bob.sendRoom(id, `update ${i}`)).id);
  await arrived;
  assert.equal(model.roomItems().find((r) => r.key === id)!.unread, total);

  const lowered = new Promise<number>((resolve, reject) => {
    onCount = (n) => n < total && resolve(n);
    setTimeout(() => reject(new Error(`the unread count stayed ${total} 20 s after the delete`)), 20_000).unref();
  });
  await bob.deleteMessage({ room: id }, sent[0]!);
  assert.equal(await lowered, total - 1, 'the sidebar got one fewer');
  assert.equal(model.totalUnread(), total - 1);
});
