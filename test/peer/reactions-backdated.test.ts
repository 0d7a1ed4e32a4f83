// Reactions dated back by modified clients, between real engines (a real tracker, real links): a
// reaction's signed time is the sender's to choose, so three colluding members whose clients date
// theirs before everyone else's (MAX_REACTIONS_PER_USER each, MAX_REACTIONS_PER_MESSAGE in all)
// used to take every slot a message shows (the oldest in the signed order were kept) and hide the
// honest reactions. Slots now go to the emoji with the most users, ties to the first to arrive.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER } from '../../protocol/message-actions.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { registered, waitFor } from '../helpers/engines.ts';
import { sendRawAction } from '../helpers/conversation.ts';

const face = (i: number) => String.fromCodePoint(0x1f600 + i);
const COLLUDERS = ['mal1', 'mal2', 'mal3'];

/** Resolves once `engine` has had `count` reaction events on message `id` from `users`; rejects after `ms`. */
function reactionsFrom(engine: ChatEngine, id: string, users: readonly string[], count: number, ms = 20_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let n = 0;
    const on = (e: { id: string; user: string }) => {
      if (e.id !== id || !users.includes(e.user) || ++n < count) return;
      clearTimeout(timer);
      engine.off('reaction', on);
      resolve();
    };
    const timer = setTimeout(() => {
      engine.off('reaction', on);
      reject(new Error(`${engine.user}: ${n} of ${count} reactions from ${users.join(', ')} within ${ms} ms`));
    }, ms);
    engine.on('reaction', on);
  });
}

test("reactions dated back by three colluding clients do not take the honest ones' slots", async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  // The colluders' clocks read `frozen` once it is set: every reaction of theirs is dated then.
  let frozen: number | undefined;
  const now = () => frozen ?? Date.now();
  const colluders = [];
  for (const user of COLLUDERS) colluders.push(await registered(t, tracker, user, { now }));
  const { id } = await alice.createRoom('vote');
  const joined = Promise.all(['bob', ...COLLUDERS].map((user) => waitFor(alice, 'member_joined', (e) => e.roomId === id && e.user === user)));
  for (const e of [bob, ...colluders]) await e.joinRoom(id);
  await joined;
  // After every device's record of received messages began (older messages are refused as replays),
  // and before anything below is sent.
  frozen = Date.now();

  const seen = [bob, ...colluders].map((e) => waitFor(e, 'message', (x) => x.text === 'vote here'));
  const m = await alice.sendRoom(id, 'vote here');
  await Promise.all(seen);
  const room = { room: id };
  const bobs = [alice, ...colluders].map((e) => waitFor(e, 'reaction', (r) => r.id === m.id && r.user === 'bob'));
  await bob.react(room, m.id, '🎉');
  await Promise.all(bobs);

  // Then the colluders, 8 emoji each, all dated before bob's (and before the message itself).
  const all = MAX_REACTIONS_PER_USER * COLLUDERS.length;
  assert.equal(all, MAX_REACTIONS_PER_MESSAGE, 'together they could fill every slot');
  const arrived = [alice, bob].map((e) => reactionsFrom(e, m.id, COLLUDERS, all));
  for (const [k, e] of colluders.entries()) {
    for (let i = 0; i < MAX_REACTIONS_PER_USER; i++) await sendRawAction(e, id, { t: 'react', of: m.id, emoji: face(k * MAX_REACTIONS_PER_USER + i), on: true });
  }
  await Promise.all(arrived);

  for (const e of [alice, bob]) {
    const reactions = e.message(room, m.id)?.reactions ?? [];
    assert.equal(reactions.length, MAX_REACTIONS_PER_MESSAGE, `${e.user}: a full message`);
    assert.deepEqual(reactions.find((r) => r.emoji === '🎉')?.users, ['bob'], `${e.user}: bob's reaction is shown`);
    assert.equal(reactions.filter((r) => r.users.some((u) => COLLUDERS.includes(u))).length, MAX_REACTIONS_PER_MESSAGE - 1, `${e.user}: the colluders' fill the rest`);
  }
});
