// Reactions, edits and read receipts between real engines (a real tracker, real links) when clocks
// are wrong and members hostile (issue 12 attacker findings 3, 4, 6): a later change from a device
// whose clock is behind another device of the same user still wins; a receipt dated ahead does not
// freeze "seen by"; one member cannot squat a message's reactions (the engine refuses a 9th, every
// receiver ignores one a modified client sends); look-alike emoji are one reaction.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCoded } from '../../protocol/errors.ts';
import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER, type MessageAction } from '../../protocol/message-actions.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import type { Signed } from '../../peer/signed-session.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, collect, makeEngine, registered, roomOf, waitFor } from '../helpers/engines.ts';
import { sendRawAction } from '../helpers/conversation.ts';

/** How far ahead alice's laptop's clock is. */
const AHEAD_MS = 10 * 60_000;
const face = (i: number) => String.fromCodePoint(0x1f600 + i);

/** Resolves at the `count`-th event `name` of `engine` about message `id` from now on; rejects after `ms`. */
function events(engine: ChatEngine, name: 'reaction' | 'edited', id: string, count: number, ms = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let n = 0;
    const on = (e: { id: string }) => {
      if (e.id !== id || ++n < count) return;
      clearTimeout(timer);
      engine.off(name, on);
      resolve();
    };
    const timer = setTimeout(() => {
      engine.off(name, on);
      reject(new Error(`${engine.user}: ${n} of ${count} ${name} events on ${id} within ${ms} ms`));
    }, ms);
    engine.on(name, on);
  });
}

/** A modified (or skewed) client: `action` dated at least `notBefore`, through the engine's own sending path. */
async function sendDated(engine: ChatEngine, room: string, action: MessageAction, notBefore: number): Promise<{ id: string }> {
  const s = (engine as unknown as { s: Signed }).s;
  return s.messages.send(s.conversations.resolve(room), '', undefined, { action, notBefore });
}

test("a later reaction or edit from a device whose clock is behind another of the same user's still wins", async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const { id } = await alice.createRoom('clocks');
  const joined = waitFor(alice, 'member_joined', (e) => e.roomId === id && e.user === 'bob');
  await bob.joinRoom(id);
  await joined;
  // alice's laptop: her second device, whose clock runs 10 minutes ahead from now on (set after
  // its login: its record of received messages starts at the true time, so it takes everyone's).
  let ahead = 0;
  const laptop = await makeEngine(t, tracker, { now: () => Date.now() + ahead });
  await laptop.login('alice', PASSWORD);
  ahead = AHEAD_MS;
  const room = { room: id };

  const seen = [waitFor(alice, 'message', (m) => m.text === 'ship it?'), waitFor(laptop, 'message', (m) => m.text === 'ship it?')];
  const m = await bob.sendRoom(id, 'ship it?');
  await Promise.all(seen);

  // On at the laptop (dated 10 minutes ahead), then off at the desk a moment later.
  const deskHasIt = waitFor(alice, 'reaction', (r) => r.id === m.id && r.emoji === '👍');
  const bobTwice = events(bob, 'reaction', m.id, 2);
  await laptop.react(room, m.id, '👍');
  await deskHasIt;
  await alice.react(room, m.id, '👍', false);
  await bobTwice;
  assert.equal(bob.message(room, m.id)?.reactions, undefined, "bob: alice took her 👍 back last, so it is off");
  assert.equal(alice.message(room, m.id)?.reactions, undefined, 'and on the desk');

  // The same for an edit of alice's own message.
  const seen2 = [waitFor(bob, 'message', (x) => x.text === 'deploy at 5'), waitFor(laptop, 'message', (x) => x.text === 'deploy at 5')];
  const mine = await alice.sendRoom(id, 'deploy at 5');
  await Promise.all(seen2);
  const deskHasEdit = waitFor(alice, 'edited', (e) => e.id === mine.id);
  const bobEdits = events(bob, 'edited', mine.id, 2);
  await laptop.edit(room, mine.id, 'deploy at 6');
  await deskHasEdit;
  await alice.edit(room, mine.id, 'deploy at 7');
  await bobEdits;
  assert.equal(bob.message(room, mine.id)?.text, 'deploy at 7', "bob shows alice's last edit");
  assert.equal(alice.message(room, mine.id)?.text, 'deploy at 7');
});

test('a read receipt dated ahead does not freeze "seen by": the furthest message read counts', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'receipts');
  const { alice, bob } = engines;
  const room = { room: id };
  const ids: string[] = [];
  for (const text of ['one', 'two', 'three']) {
    const got = waitFor(bob, 'message', (x) => x.text === text);
    ids.push((await alice.sendRoom(id, text)).id);
    await got;
  }
  // bob's receipt for "one" from a device whose clock is 23 hours ahead (receivers take up to a day).
  const first = waitFor(alice, 'read', (r) => r.user === 'bob' && r.upTo === ids[0]);
  await sendDated(bob, id, { t: 'read', upTo: ids[0]! }, Date.now() + 23 * 3600_000);
  await first;
  const later = waitFor(alice, 'read', (r) => r.user === 'bob' && r.upTo === ids[2]);
  await bob.markRead(room, ids[2]!);
  await later;
  assert.deepEqual(alice.reads(room), [{ user: 'bob', upTo: ids[2], mine: ids[2] }], 'bob has read up to "three"');
  // An older position sent later does not move it back.
  const back = waitFor(alice, 'read', (r) => r.user === 'bob' && r.upTo === ids[1]);
  await bob.markRead(room, ids[1]!);
  await back;
  assert.deepEqual(alice.reads(room), [{ user: 'bob', upTo: ids[2], mine: ids[2] }]);
});

test('one member cannot squat a message\'s reactions: the engine refuses a 9th, every receiver ignores those a modified client sends', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol', 'mallory'], 'squat');
  const { alice, bob, carol, mallory } = engines;
  const room = { room: id };
  const seen = [bob, carol, mallory].map((e) => waitFor(e, 'message', (x) => x.text === 'vote here'));
  const m = await alice.sendRoom(id, 'vote here');
  await Promise.all(seen);

  // The engine: a 9th of bob's is refused with words; taking one back makes room.
  for (let i = 0; i < MAX_REACTIONS_PER_USER; i++) await bob.react(room, m.id, face(i));
  await assert.rejects(bob.react(room, m.id, face(30)), (err) => isCoded(err) && err.code === 'request.invalid' && /take one back/.test(err.message));
  await bob.react(room, m.id, face(0), false);
  await bob.react(room, m.id, face(30));

  // A modified client puts on an emoji in every slot of the message.
  const refusedAtAlice = collect(alice, 'error');
  collect(mallory, 'error');
  for (let i = 0; i < MAX_REACTIONS_PER_MESSAGE; i++) await sendRawAction(mallory, id, { t: 'react', of: m.id, emoji: face(40 + i), on: true });
  // carol reacts after all of it; once alice has carol's, she has handled mallory's.
  const carols = waitFor(alice, 'reaction', (r) => r.user === 'carol');
  await carol.react(room, m.id, '🎉');
  await carols;
  const reactions = alice.message(room, m.id)?.reactions ?? [];
  assert.deepEqual(reactions.filter((r) => r.users.includes('mallory')).map((r) => r.emoji), Array.from({ length: MAX_REACTIONS_PER_USER }, (_, i) => face(40 + i)), "mallory's first 8 count, no more");
  assert.deepEqual(reactions.find((r) => r.emoji === '🎉')?.users, ['carol'], "carol's reaction is shown");
  assert.equal(reactions.filter((r) => r.users.includes('bob')).length, MAX_REACTIONS_PER_USER, "bob's are all shown");
  assert.equal(refusedAtAlice.filter((e) => e.code === 'request.invalid' && /mallory/.test(e.message)).length, MAX_REACTIONS_PER_MESSAGE - MAX_REACTIONS_PER_USER, 'each one ignored is said');
});

test('look-alike emoji are one reaction; a keycap-ish string from a modified client is none', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'emoji');
  const { alice, bob, mallory } = engines;
  const room = { room: id };
  const seen = [bob, mallory].map((e) => waitFor(e, 'message', (x) => x.text === 'lunch?'));
  const m = await alice.sendRoom(id, 'lunch?');
  await Promise.all(seen);

  const refused = collect(alice, 'error');
  // bob is told of the string that is no emoji too (checked at alice).
  for (const e of [bob, mallory]) collect(e, 'error');
  await sendRawAction(mallory, id, { t: 'react', of: m.id, emoji: '#\u20e3\u20e3', on: true });
  const both = events(alice, 'reaction', m.id, 2);
  await bob.react(room, m.id, '👍');
  await mallory.react(room, m.id, '👍\ufe0f');
  await both;
  assert.deepEqual(alice.message(room, m.id)?.reactions, [{ emoji: '👍', users: ['bob', 'mallory'] }]);
  assert.ok(refused.some((e) => e.code === 'request.invalid' && /mallory/.test(e.message) && /not one emoji/.test(e.message)), 'the string that is no emoji is ignored, and said so');
  // Taking it back with the other form takes back the same reaction.
  const off = waitFor(alice, 'reaction', (r) => r.user === 'bob' && !r.on);
  await bob.react(room, m.id, '👍\ufe0f', false);
  await off;
  assert.deepEqual(alice.message(room, m.id)?.reactions, [{ emoji: '👍', users: ['mallory'] }]);
});
