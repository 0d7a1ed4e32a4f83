// Read state in extension/chat-model.ts over real engines, a real tracker and real links (issue 12):
// a conversation opens with its "New messages" line at the first message I had not read; reading
// it with the view on screen sends a read receipt that reaches the other member's view as
// "seen by" (reads/changed, and `reads` when it opens); a read receipt of mine from my other device
// clears the unread count here. (The rules on their own: read-state.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToView } from '../../protocol/view.ts';
import { waitFor } from '../helpers/engines.ts';
import { lookingAt, modelOf, twoDevices } from '../helpers/chat-model-scene.ts';

type Reads = Extract<HostToView, { type: 'reads/changed' }>;

test('"New messages" at the first unread message; my read receipt becomes "seen by" at the other member; my other device reading clears the count here', { timeout: 120_000 }, async (t) => {
  const { id, alice, bob, laptop } = await twoDevices(t);
  const aliceScreen = { visible: true };
  const a = await modelOf(alice, { attention: () => lookingAt(aliceScreen.visible ? id : undefined) });
  const b = await modelOf(bob, { attention: () => lookingAt(id) });
  await b.model.openConversation(id);

  // alice reads "hello" with the view on screen, then hides it; three more come.
  const hello = waitFor(alice, 'message', (m) => m.text === 'hello');
  await bob.sendRoom(id, 'hello');
  await hello;
  await a.model.openConversation(id);
  aliceScreen.visible = false;
  const three = ['one', 'two', 'three'];
  const sent: string[] = [];
  const arrived = Promise.all(three.map((text) => waitFor(alice, 'message', (m) => m.text === text)));
  for (const text of three) sent.push((await bob.sendRoom(id, text)).id);
  await arrived;
  assert.equal(a.model.totalUnread(), 3);

  // The view comes back with the conversation: the line is above "one", and alice's receipt reaches bob.
  aliceScreen.visible = true;
  const receipt = waitFor(bob, 'read', (e) => e.user === 'alice' && e.upTo === sent[2]);
  await a.model.openConversation(id);
  assert.equal(a.opened().firstUnread, sent[0], 'the "New messages" line goes above the first unread message');
  assert.equal(a.model.totalUnread(), 0);
  await receipt;
  const seen = b.posted.filter((m): m is Reads => m.type === 'reads/changed' && m.key === id).at(-1);
  assert.deepEqual(seen?.reads, [{ user: 'alice', upTo: sent[2], mine: sent[2] }], 'bob sees alice has read up to "three" (which she had), and not himself');
  await b.model.openConversation(id);
  assert.deepEqual(b.opened().reads, [{ user: 'alice', upTo: sent[2], mine: sent[2] }], 'and when the conversation opens');

  // Away again; alice reads "four" on her laptop: this window's count goes with it.
  aliceScreen.visible = false;
  const four = waitFor(alice, 'message', (m) => m.text === 'four');
  const onLaptop = waitFor(laptop, 'message', (m) => m.text === 'four');
  const fourth = await bob.sendRoom(id, 'four');
  await Promise.all([four, onLaptop]);
  assert.equal(a.model.totalUnread(), 1);
  const mine = waitFor(alice, 'read', (e) => e.user === 'alice' && e.upTo === fourth.id);
  await laptop.markRead({ room: id }, fourth.id);
  await mine;
  assert.equal(a.model.totalUnread(), 0, 'read on my other device: read here');
  assert.ok(a.posted.some((m) => m.type === 'rooms/changed' && m.rooms.every((r) => r.unread === 0)), 'the sidebar is told');
});
