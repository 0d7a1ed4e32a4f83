// "Seen by" only on messages the reader had when they read (attacker finding, h6 "seen"). A read
// receipt is a position, "read up to upTo"; a message of mine that reached the reader only after
// they read sorts before upTo by its time, and was shown "seen by" them. Real tracker, real peers:
// alice sends M1 while bob and carol are away and goes away; they come back, carol sends X, bob
// reads X; alice comes back and M1 reaches bob only now. alice's reads and her view's seenBy do
// not put bob under M1 until bob sends a receipt while holding it; then they do.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenedConversation } from '../../protocol/view.ts';
import { fromHistory } from '../../extension/message-state.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { seenBy } from '../../webview/seen-by.ts';
import { PASSWORD, away, makeEngine, roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** Who `engine`'s view shows under message `id` of `room` ("seen by"), from its newest page and reads. */
async function seenUnder(engine: ChatEngine, room: string, id: string): Promise<readonly string[]> {
  const { messages } = await engine.history({ room });
  const open: OpenedConversation = { key: room, title: room, direct: false, timeline: messages.map((m) => fromHistory(m, engine.user!)), members: [], typing: [], reads: engine.reads({ room }) };
  return seenBy(open, engine.user).get(id) ?? [];
}

/** Waits (on read events) until `engine`'s reads of `room` pass `ok`. */
async function readsUntil(engine: ChatEngine, room: string, ok: (r: ReturnType<ChatEngine['reads']>) => boolean): Promise<ReturnType<ChatEngine['reads']>> {
  if (!ok(engine.reads({ room }))) await waitFor(engine, 'read', () => ok(engine.reads({ room })), 30_000);
  return engine.reads({ room });
}

test('a message that reached the reader after their receipt is not "seen by" them until they send one holding it', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  await away(bob, alice);
  await away(carol, alice);
  const m1 = await alice.sendRoom(id, 'M1: please review PR 42 before noon');
  await alice.close();

  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  await carol2.login('carol', PASSWORD);
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  await bob2.login('bob', PASSWORD);
  const xAtBob = waitFor(bob2, 'message', (m) => m.text === 'X: lunch?', 30_000);
  const x = await carol2.sendRoom(id, 'X: lunch?');
  await xAtBob;
  const before = await bob2.history({ room: id });
  assert.ok(!before.messages.some((m) => m.id === m1.id), 'bob does not have M1 when he reads');
  await bob2.markRead({ room: id }, x.id);

  const m1AtBob = waitFor(bob2, 'message', (m) => m.id === m1.id, 30_000);
  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  await alice2.login('alice', PASSWORD);
  assert.equal((await m1AtBob).late, true, 'M1 reached bob late, sorting before X');
  // alice holds X and bob's receipt naming it: his position is X, after M1 in her timeline too.
  const reads = await readsUntil(alice2, id, (r) => r.some((m) => m.user === 'bob' && m.upTo === x.id));
  assert.deepEqual(await seenUnder(alice2, id, m1.id), [], 'M1 is not "seen by bob": he did not have it when he read');
  assert.deepEqual(reads.find((m) => m.user === 'bob'), { user: 'bob', upTo: x.id, mine: null }, 'bob had none of alice\'s messages when he read');

  // bob reads again, now holding M1 (his position is still X): now he has seen it.
  await bob2.markRead({ room: id }, x.id);
  const after = await readsUntil(alice2, id, (r) => r.some((m) => m.user === 'bob' && m.mine === m1.id));
  assert.deepEqual(after.find((m) => m.user === 'bob'), { user: 'bob', upTo: x.id, mine: m1.id });
  assert.deepEqual(await seenUnder(alice2, id, m1.id), ['bob']);
});
