// The search index's per-sender fair share inside one conversation (peer/search-index.ts trim):
// when the index is full, the conversation holding the most gives up the oldest of the SENDER
// holding the most in it. A member flooding a room (thousands of 4 KiB messages) evicts their own
// oldest, not the other members' history, and other conversations keep all of theirs; what the
// user is told (protocol/search-coverage.ts) stays true: every message since searchedFrom is
// searched, older ones in part.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEARCH_LIMITS } from '../../protocol/message-actions.ts';
import { searchedFromNote } from '../../protocol/search-coverage.ts';
import { ENTRY_CHARS, SearchIndex, type IndexedMessage } from '../../peer/search-index.ts';

const ROOM = 'room-a';
const OTHER = 'room-b';
const FLOOD = 2_000;
const KIB4 = 4_096;
const BUDGET = 1_000_000;
const pad = (i: number) => String(i).padStart(5, '0');

/** alice's 50 old messages and bob's 50 in another room, then mallory's flood of ROOM (4 KiB each), one minute apart. */
function history(): { before: IndexedMessage[]; flood: IndexedMessage[] } {
  let clock = Date.UTC(2026, 10, 3, 12, 0);
  const at = () => (clock += 60_000);
  const before: IndexedMessage[] = [];
  for (let i = 0; i < 50; i++) {
    before.push({ conversation: ROOM, id: `a${pad(i)}`, from: 'alice', sentAt: at(), text: `alice plan note-${pad(i)}-end` });
    before.push({ conversation: OTHER, id: `b${pad(i)}`, from: 'bob', sentAt: at(), text: `bob plan note-${pad(i)}-end` });
  }
  const flood = Array.from({ length: FLOOD }, (_, i) => ({ conversation: ROOM, id: `m${pad(i)}`, from: 'mallory', sentAt: at(), text: `spam-${pad(i)}-end ${'x'.repeat(KIB4)}` }));
  return { before, flood };
}

const found = (idx: SearchIndex, conversation: string, word: string) => idx.search(word, { conversation, limit: SEARCH_LIMITS.maxResults }).map((h) => h.id);

/** What a flooded index must hold: alice's and bob's all, mallory's newest only, and a note that says so truly. */
function assertFair(idx: SearchIndex, all: IndexedMessage[]): void {
  // alice's old messages in the flooded room are all still found, each by its own words.
  assert.equal(found(idx, ROOM, 'alice plan').length, 50, "alice's old messages in the flooded room are still searched");
  const c = idx.coverage();
  assert.ok(c.built && c.chars <= BUDGET && c.evicted > FLOOD / 2, JSON.stringify(c));
  for (const i of [0, 1, 25, 49]) assert.deepEqual(found(idx, ROOM, `note-${pad(i)}-end`), [`a${pad(i)}`]);
  // mallory's oldest are the ones gone: what is kept of the flood is its newest, and no more left than needed.
  const kept = FLOOD - c.evicted;
  for (let i = 0; i < FLOOD; i += 97) assert.equal(found(idx, ROOM, `spam-${pad(i)}-end`).length, i >= c.evicted ? 1 : 0, `mallory's message ${i} (${c.evicted} evicted)`);
  assert.deepEqual(found(idx, ROOM, `spam-${pad(FLOOD - 1)}-end`), [`m${pad(FLOOD - 1)}`], "mallory's newest is kept");
  assert.deepEqual(found(idx, ROOM, `spam-${pad(c.evicted - 1)}-end`), [], "mallory's newest evicted one is gone");
  assert.ok((kept + 1) * (KIB4 + 20 + ENTRY_CHARS) > BUDGET - 100 * (40 + ENTRY_CHARS), `${kept} of the flood kept: the budget is used`);
  // The second conversation is untouched, and says so.
  assert.equal(found(idx, OTHER, 'bob plan').length, 50);
  assert.equal(idx.searchedFrom(OTHER), undefined, 'a search of the other room covers all of it');
  // The flooded room: everything from searchedFrom on is searched; before it, alice's are, mallory's are not.
  const from = idx.searchedFrom(ROOM)!;
  const lastGone = all.find((m) => m.id === `m${pad(c.evicted - 1)}`)!;
  assert.equal(from, lastGone.sentAt + 1, 'just after the newest message that left');
  assert.equal(idx.searchedFrom(), from, 'and so for a search of all conversations');
  const since = all.filter((m) => m.conversation === ROOM && m.sentAt >= from).map((m) => m.id);
  assert.deepEqual(new Set(found(idx, ROOM, 'end')), new Set([...since, ...found(idx, ROOM, 'alice plan')]), 'all since, and older ones in part');
  assert.ok(all.some((m) => m.conversation === ROOM && m.sentAt < from && found(idx, ROOM, 'alice plan').includes(m.id)), 'older ones searched in part');
  // What the user is told says exactly that: all since, some older not (not "older ones are not searched").
  const note = searchedFromNote(from);
  assert.match(note, /^Searched all messages since \d+ \w+ 2026, \d\d:\d\d; some older ones are not in the search index \(it is full: whoever sent the most loses their oldest first\)\.$/);
}

test("a member flooding a room evicts their own oldest: the other members' history in that room stays searchable, another room is untouched", () => {
  const { before, flood } = history();
  const idx = new SearchIndex(() => before, { maxTotalChars: BUDGET });
  assert.equal(found(idx, ROOM, 'alice plan').length, 50);
  for (const m of flood) idx.put(m);
  assertFair(idx, [...before, ...flood]);
  // alice speaks again after the flood, at length: her new message is kept and mallory gives up more of hers.
  const evicted = idx.coverage().evicted;
  for (let i = 0; i < 3; i++) idx.put({ conversation: ROOM, id: `late${i}`, from: 'alice', sentAt: flood.at(-1)!.sentAt + 60_000 * (i + 1), text: `alice plan after the flood ${'y'.repeat(KIB4)}` });
  assert.equal(found(idx, ROOM, 'alice plan').length, 53);
  assert.ok(idx.coverage().evicted > evicted && idx.coverage().chars <= BUDGET);
  assert.deepEqual(found(idx, ROOM, `spam-${pad(evicted)}-end`), [], "mallory's next oldest made room");
});

test('built at once from a store already holding the flood: the same fair share', () => {
  const { before, flood } = history();
  const all = [...before, ...flood];
  const idx = new SearchIndex(() => all, { maxTotalChars: BUDGET });
  assertFair(idx, all);
});

test('two senders over their share in one room are cut to an equal share; one under it keeps all', () => {
  let clock = 0;
  const line = (from: string, i: number): IndexedMessage => ({ conversation: ROOM, id: `${from}${pad(i)}`, from, sentAt: ++clock, text: `${from} word${pad(i)}` });
  const per = 'mallory word00000'.length + 'mallory00000'.length + ENTRY_CHARS;
  const messages = [...Array.from({ length: 10 }, (_, i) => line('alice', i))];
  for (let i = 0; i < 200; i++) messages.push(line('mallory', i), line('malcolm', i)); // the same length: the same charge
  const idx = new SearchIndex(() => messages, { maxTotalChars: 110 * per });
  assert.equal(found(idx, ROOM, 'alice').length, 10, 'alice, under her share, keeps all');
  const mallory = found(idx, ROOM, 'mallory').length;
  const malcolm = found(idx, ROOM, 'malcolm').length;
  assert.ok(Math.abs(mallory - malcolm) <= 1 && mallory + malcolm >= 95, `mallory ${mallory}, malcolm ${malcolm}: an equal share of what alice leaves`);
  assert.equal(found(idx, ROOM, `word${pad(199)}`).length, 2, 'each keeps their newest');
  assert.deepEqual(found(idx, ROOM, `mallory word${pad(200 - mallory)}`), [`mallory${pad(200 - mallory)}`], "mallory's oldest kept");
  assert.deepEqual(found(idx, ROOM, `mallory word${pad(199 - mallory)}`), [], 'is just after the ones given up');
});

test('the note: all messages since a time, some older ones not; a bad time says only the newest were searched', () => {
  const since = new Date(2026, 10, 3, 14, 5).getTime();
  assert.equal(searchedFromNote(since), 'Searched all messages since 3 Nov 2026, 14:05; some older ones are not in the search index (it is full: whoever sent the most loses their oldest first).');
  assert.equal(searchedFromNote(Number.NaN), 'Searched the newest messages only; some older ones are not in the search index (it is full: whoever sent the most loses their oldest first).');
});
