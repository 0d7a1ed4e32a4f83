// Reactions no member can squat, wipe or double (issue 12 attacker findings 4 and 6), over a real
// store.db in a temp folder: one member has at most MAX_REACTIONS_PER_USER emoji on a message
// (replayed the same way by every member), one member toggling thousands of times does not push
// the others' reactions out of what is read, and look-alike emoji are one reaction (canonical
// RGI form) while text and keycap-ish strings are not reactions at all.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER, emojiSchema, isEmoji, messageActionSchema, type MessageAction } from '../../protocol/message-actions.ts';
import type { StoredMessage } from '../../peer/history.ts';
import { MAX_REACTION_ROWS, tally } from '../../peer/message-actions.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const msg = (id: string, from: string, text: string, over: Partial<StoredMessage> = {}) => storedMessage(id, from, { text, ...over });
function react(id: string, from: string, emoji: string, on = true, sentAt?: number): StoredMessage {
  return msg(id, from, '', { action: { t: 'react', of: 'm', emoji, on } as MessageAction, ...(sentAt !== undefined ? { sentAt } : {}) });
}
/** The i-th of 40 distinct pictographs (U+1F600...). */
const face = (i: number) => String.fromCodePoint(0x1f600 + i);

test('one member has at most MAX_REACTIONS_PER_USER emoji on a message: a 9th is ignored, one taken back makes room again', () => {
  assert.ok(MAX_REACTIONS_PER_USER >= 1 && MAX_REACTIONS_PER_USER < MAX_REACTIONS_PER_MESSAGE, 'one member can never fill every slot of a message');
  const rows = Array.from({ length: MAX_REACTIONS_PER_USER + 1 }, (_, i) => react(`r${i}`, 'mallory', face(i)));
  const theirs = (rs: StoredMessage[]) => tally(rs).filter((r) => r.users.includes('mallory')).map((r) => r.emoji);
  assert.deepEqual(theirs(rows), Array.from({ length: MAX_REACTIONS_PER_USER }, (_, i) => face(i)), 'the one put on beyond the cap is not counted');
  // Taking one back makes room: a new one counts; the ignored one stays ignored (it was refused when sent).
  const later = [...rows, react('off', 'mallory', face(0), false), react('new', 'mallory', face(20))];
  assert.deepEqual(theirs(later), [...Array.from({ length: MAX_REACTIONS_PER_USER - 1 }, (_, i) => face(i + 1)), face(20)]);
});

test('one member filling every slot of a message does not crowd out the others: their reactions still show', () => {
  const squat = Array.from({ length: MAX_REACTIONS_PER_MESSAGE }, (_, i) => react(`s${i}`, 'mallory', face(i)));
  const rows = [...squat, react('c', 'carol', '🎉'), react('b', 'bob', face(0))];
  const shown = tally(rows);
  assert.deepEqual(shown.find((r) => r.emoji === '🎉')?.users, ['carol'], "carol's reaction is shown");
  assert.deepEqual(shown.find((r) => r.emoji === face(0))?.users, ['mallory', 'bob']);
  assert.equal(shown.filter((r) => r.users.includes('mallory')).length, MAX_REACTIONS_PER_USER);
});

test("one member toggling more than MAX_REACTION_ROWS times does not push the others' reactions out of what is read", async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-reactions-');
  const m = msg('m', 'alice', 'ship it?');
  history.add(m);
  history.add(react('c1', 'carol', '👍'));
  history.add(react('b1', 'bob', '🎉'));
  for (let i = 0; i <= MAX_REACTION_ROWS; i++) history.add(react(`x${i}`, 'mallory', '👀', i % 2 === 0));
  // mallory's last row is "on" (MAX_REACTION_ROWS is even): her 👀 shows, and so do the others'.
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm')!).reactions, [
    { emoji: '👍', users: ['carol'] },
    { emoji: '🎉', users: ['bob'] },
    { emoji: '👀', users: ['mallory'] },
  ]);
});

test('look-alike emoji are one reaction: "👍" and "👍\\ufe0f" merge, "❤" is "❤️", "1⃣" is "1️⃣"; text and bare keycap characters are no emoji', () => {
  // The one rule every side uses (engine, terminal, webview picker, the view's protocol).
  for (const [given, canonical] of [['👍', '👍'], ['👍\ufe0f', '👍'], ['❤', '❤️'], ['❤️', '❤️'], ['1\u20e3', '1️⃣'], ['🏳\u200d🌈', '🏳️‍🌈'], ['👍\ufe0f🏽', '👍🏽'], ['🇫🇷', '🇫🇷']] as const) {
    assert.equal(isEmoji(given), true, JSON.stringify(given));
    assert.equal(emojiSchema.parse(given), canonical, JSON.stringify(given));
  }
  for (const bad of ['1', '#', '*', '#\u20e3\u20e3', '12', '👍👍', '\ufe0f', '\u200d', 'lol', '👍 ', '🇫', '👍\ufe0e', `👍${'\ufe0f'.repeat(40)}`]) {
    assert.equal(isEmoji(bad), false, JSON.stringify(bad));
    assert.throws(() => emojiSchema.parse(bad), (err: unknown) => (err as { code?: string }).code === 'request.invalid');
  }
  // A receiver canonicalizes what comes in, so hostile variants merge...
  const received = messageActionSchema.parse({ t: 'react', of: 'm', emoji: '👍\ufe0f', on: true });
  assert.deepEqual(received, { t: 'react', of: 'm', emoji: '👍', on: true });
  // ...and tally keys by the canonical form (rows stored before this rule included).
  const rows = [react('a', 'bob', '👍'), react('b', 'mallory', '👍\ufe0f'), react('c', 'carol', '❤'), react('d', 'dave', '❤️'), react('e', 'erin', '#\u20e3\u20e3')];
  assert.deepEqual(tally(rows), [{ emoji: '👍', users: ['bob', 'mallory'] }, { emoji: '❤️', users: ['carol', 'dave'] }]);
});

test('a reaction row this device does not know as one emoji is kept but never counted, and said so', async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-reactions-');
  history.add(msg('m', 'alice', 'hello'));
  const row = react('x', 'mallory', '#\u20e3\u20e3');
  assert.ok(history.add(row));
  const told = actions.applied(history.get(ROOM, 'x')!, named).told;
  assert.deepEqual(told.map((x) => [x.name, x.name === 'error' ? x.e.code : '']), [['error', 'request.invalid']]);
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm')!).reactions, []);
});

test("reactions dated back by modified clients do not push others' out of the shown ones: the most users win, ties go to the first to arrive here", async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-reactions-');
  history.add(msg('m', 'alice', 'vote here', { sentAt: 1000 }));
  const shown = () => actions.stateOf(history.get(ROOM, 'm')!).reactions;
  // Honest reactions first: bob's 🎉, carol's and dave's 👍.
  history.add(react('b', 'bob', '🎉', true, 50_000));
  history.add(react('c', 'carol', '👍', true, 51_000));
  history.add(react('d', 'dave', '👍', true, 52_000));
  // Then three colluders, MAX_REACTIONS_PER_USER each, every one dated before the honest ones.
  const colluders = ['m1', 'm2', 'm3'];
  colluders.forEach((u, k) => {
    for (let i = 0; i < MAX_REACTIONS_PER_USER; i++) history.add(react(`${u}-${i}`, u, face(k * MAX_REACTIONS_PER_USER + i), true, 2000 + k * 100 + i));
  });
  const reactions = shown();
  assert.equal(reactions.length, MAX_REACTIONS_PER_MESSAGE);
  assert.deepEqual(reactions.find((r) => r.emoji === '🎉')?.users, ['bob'], "bob's reaction, first here, keeps its slot");
  assert.deepEqual(reactions.find((r) => r.emoji === '👍')?.users, ['carol', 'dave']);
  // The colluders' last one to arrive is the one left out (a tie of one user each).
  assert.equal(reactions.some((r) => r.emoji === face(3 * MAX_REACTIONS_PER_USER - 1)), false);
  // Shown in the order first given (the same on every member): backdating only moves theirs first.
  assert.deepEqual(reactions.at(-2)?.emoji, '🎉');

  // A reaction that comes after the message is full shows once more people give it than the least given.
  history.add(react('e', 'erin', '🚀', true, 60_000));
  assert.equal(shown().some((r) => r.emoji === '🚀'), false, 'one user, arrived last: no slot');
  history.add(react('f', 'frank', '🚀', true, 61_000));
  const now = shown();
  assert.deepEqual(now.find((r) => r.emoji === '🚀')?.users, ['erin', 'frank'], 'two users outrank one');
  assert.equal(now.length, MAX_REACTIONS_PER_MESSAGE);
  assert.ok(now.find((r) => r.emoji === '🎉'), "still bob's");
});
