// A message dated ahead must not pin read positions (issue 12 attacker finding): a member whose
// clock runs 23 hours ahead (receivers take up to a day) sends a message; bob reads it; alice
// then writes. Between real engines (a real tracker, real links): the dated message is placed in
// the timeline when it arrived, not at its date, so alice's later message comes after it on every
// member that received both live, is not `late`, bob is not "seen" on it, and bob's "New
// messages" line goes above it. Before, the dated message sorted after everything sent for a day.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryMessage } from '../../protocol/client.ts';
import type { OpenedConversation } from '../../protocol/view.ts';
import { firstUnread } from '../../extension/read-state.ts';
import { fromHistory } from '../../extension/message-state.ts';
import { seenBy } from '../../webview/seen-by.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { registered, waitFor } from '../helpers/engines.ts';

/** How far ahead carol's clock runs once the room is set up (within the day receivers accept). */
const AHEAD_MS = 23 * 3600_000;

/** `engine`'s newest page of `room` as the extension's timeline shows it. */
async function timeline(engine: ChatEngine, room: string): Promise<{ messages: HistoryMessage[]; open: OpenedConversation }> {
  const { messages } = await engine.history({ room });
  const items = messages.map((m) => fromHistory(m, engine.user!));
  const open: OpenedConversation = { key: room, title: room, direct: false, timeline: items, members: [], typing: [], reads: engine.reads({ room }) };
  return { messages, open };
}

test('a message dated ahead is placed when it arrived: a later one sorts after it, and reading it reads nothing later', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  // carol's clock is set ahead only after she joined: her own record of received messages and her
  // sign-in start at the true time, as when a clock jumps (or a modified client dates ahead).
  let ahead = 0;
  const carol = await registered(t, tracker, 'carol', { now: () => Date.now() + ahead });
  const { id } = await alice.createRoom('clocks');
  const joined = Promise.all(['bob', 'carol'].map((u) => waitFor(alice, 'member_joined', (e) => e.roomId === id && e.user === u)));
  await bob.joinRoom(id);
  await carol.joinRoom(id);
  await joined;
  const room = { room: id };

  const firstSeen = [bob, carol].map((e) => waitFor(e, 'message', (m) => m.text === 'standup at 10'));
  const before = await alice.sendRoom(id, 'standup at 10');
  await Promise.all(firstSeen);

  ahead = AHEAD_MS;
  const datedSeen = [alice, bob].map((e) => waitFor(e, 'message', (m) => m.text === 'from tomorrow'));
  const dated = await carol.sendRoom(id, 'from tomorrow');
  const [atAlice, atBob] = await Promise.all(datedSeen);
  const arrived = Date.now();
  assert.ok(dated.sentAt > arrived + AHEAD_MS - 60_000, 'carol signed it about a day ahead');
  for (const e of [atAlice!, atBob!]) assert.ok(e.sentAt <= arrived, `shown at its arrival, not at its date (${new Date(e.sentAt).toISOString()})`);

  // bob reads carol's message (the view marks the newest one it shows).
  const readSeen = waitFor(alice, 'read', (r) => r.user === 'bob' && r.upTo === dated.id);
  await bob.markRead(room, dated.id);
  await readSeen;

  const afterSeen = [bob, carol].map((e) => waitFor(e, 'message', (m) => m.text === 'anyone there?'));
  const after = await alice.sendRoom(id, 'anyone there?');
  const [afterAtBob] = await Promise.all(afterSeen);
  assert.equal(afterAtBob!.late, undefined, 'not late at bob: nothing shown there comes after it');

  for (const [who, engine] of [['alice', alice], ['bob', bob]] as const) {
    const { messages } = await timeline(engine, id);
    assert.deepEqual(messages.map((m) => m.text), ['standup at 10', 'from tomorrow', 'anyone there?'], `${who}: the later message sorts after the dated one`);
    assert.equal(messages.find((m) => m.id === dated.id)!.sentAt, (who === 'alice' ? atAlice : atBob)!.sentAt, `${who}: the event and history place it alike`);
    assert.equal(messages.find((m) => m.id === after.id)!.late, undefined, `${who}: alice's later message is not late`);
  }

  // "Seen by" on alice's side: bob has read up to carol's message, so up to "standup at 10" of hers, not the later one.
  const { open: aliceOpen } = await timeline(alice, id);
  assert.deepEqual(alice.reads(room), [{ user: 'bob', upTo: dated.id, mine: before.id }]);
  const seen = seenBy(aliceOpen, 'alice');
  assert.equal(seen.get(after.id), undefined, 'bob is not "seen" on a message that came after what he read');
  assert.deepEqual(seen.get(before.id), ['bob']);

  // bob's "New messages" line, from his read position (carol's message), goes above alice's.
  const { open: bobOpen } = await timeline(bob, id);
  const lastRead = { id: dated.id, sentAt: atBob!.sentAt };
  assert.equal(firstUnread(bobOpen.timeline, { unread: 1, mentions: 0, lastRead }), after.id);
});
