// SearchIndex.restore (a room rejoined after forget): its messages come back in order whether the
// index is built or still building, a newer put wins over the stored copy, the budget holds, a cold
// index reads nothing (its build will); and its loader, MessageActions.indexableOf over a real
// sealed store, gives one conversation's current texts only (edits applied, deleted ones out).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageAction } from '../../protocol/message-actions.ts';
import type { StoredMessage } from '../../peer/history.ts';
import { SearchIndex, type IndexedMessage } from '../../peer/search-index.ts';
import { ROOM, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const A = 'room-a';
const B = 'room-b';
const m = (id: string, text: string, over: Partial<IndexedMessage> = {}): IndexedMessage =>
  ({ conversation: A, id, from: 'alice', sentAt: 1_000 + Number(id.replace(/\D/g, '') || 0), text, ...over });
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

test('built: a forgotten conversation restored is searched again, in time order with the others, a newer put kept', () => {
  const a = [m('a1', 'sprint one'), m('a3', 'sprint three'), m('a5', 'sprint five')];
  const b = [m('b2', 'sprint two', { conversation: B }), m('b4', 'sprint four', { conversation: B })];
  const idx = new SearchIndex(() => [...a, ...b]);
  assert.deepEqual(ids(idx.search('sprint', { limit: 10 })), ['a5', 'b4', 'a3', 'b2', 'a1']);
  idx.forget(A);
  assert.deepEqual(ids(idx.search('sprint', { limit: 10 })), ['b4', 'b2']);
  // Arrived after the rejoin, before the restore read the store: the newer text stays.
  idx.put(m('a3', 'sprint three (edited)'));
  idx.restore(A, () => a);
  assert.deepEqual(ids(idx.search('sprint', { limit: 10 })), ['a5', 'b4', 'a3', 'b2', 'a1']);
  assert.deepEqual(ids(idx.search('edited', { limit: 10 })), ['a3']);
  assert.equal(idx.coverage().messages, 5, 'nothing twice');
  // Later puts and removes still find their place.
  idx.put(m('a6', 'sprint six'));
  idx.remove(A, 'a1');
  assert.deepEqual(ids(idx.search('sprint', { limit: 10 })), ['a6', 'a5', 'b4', 'a3', 'b2']);
});

test('built: a restore over the budget trims as a put does, the oldest of the conversation holding the most first', () => {
  const b = [m('b1', 'x'.repeat(100), { conversation: B })];
  const a = Array.from({ length: 40 }, (_, i) => m(`a${i + 10}`, `${'y'.repeat(100)} word`));
  const idx = new SearchIndex(() => b, { maxTotalChars: 2_000 });
  assert.equal(idx.search('x', { limit: 10 }).length, 1);
  idx.restore(A, () => a);
  const c = idx.coverage();
  assert.ok(c.chars <= 2_000, `within the budget: ${c.chars}`);
  assert.ok(c.evicted > 0);
  const hits = ids(idx.search('word', { limit: 100 }));
  assert.equal(hits[0], 'a49', 'the newest stays');
  assert.deepEqual(hits, a.map((x) => x.id).slice(40 - hits.length).reverse(), 'the oldest left, the rest newest first');
  assert.deepEqual(ids(idx.search('x', { limit: 10 })), ['b1'], 'the small conversation keeps its share');
  idx.put(m('a99', `${'y'.repeat(100)} word`)); // the sender lists are in order: trim takes the oldest
  assert.equal(ids(idx.search('word', { limit: 1 }))[0], 'a99');
  assert.ok(idx.coverage().chars <= 2_000);
});

test('building: a conversation forgotten and restored while warming is loaded once, and a cold index reads nothing', async () => {
  const messages = Array.from({ length: 2_000 }, (_, i) => m(`m${i}`, `row ${i} sprint`, { conversation: i % 2 ? A : B }));
  const idx = new SearchIndex(() => messages, { sliceMs: 0 });
  const warming = idx.warm();
  assert.equal(idx.coverage().built, false);
  idx.forget(B);
  idx.restore(B, () => messages.filter((x) => x.conversation === B));
  await warming;
  assert.equal(idx.coverage().messages, 2_000);
  assert.deepEqual(ids(idx.search('sprint', { limit: 2 })), ['m1999', 'm1998']);

  let read = 0;
  const cold = new SearchIndex(() => messages);
  cold.restore(A, () => (read++, []));
  assert.equal(read, 0, 'the first search loads every conversation anyway');
  assert.equal(cold.search('sprint', { limit: 10 }).length, 10);
});

test('a restore whose loader throws keeps what it read searchable and in order', () => {
  const idx = new SearchIndex(() => [m('b2', 'sprint', { conversation: B })]);
  idx.search('sprint', { limit: 1 });
  assert.throws(() => idx.restore(A, function* () {
    yield m('a1', 'sprint');
    yield m('a3', 'sprint');
    throw new Error('a row does not open');
  }), /does not open/);
  assert.deepEqual(ids(idx.search('sprint', { limit: 10 })), ['a3', 'b2', 'a1']);
});

test("indexableOf gives one conversation's current texts from a real store: latest edit, deleted ones out", async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-search-restore-');
  const msg = (id: string, text: string, over: { action?: MessageAction; conversation?: string } = {}): StoredMessage => storedMessage(id, 'alice', { text, ...over });
  history.add(msg('m1', 'lunch at noon'));
  history.add(msg('m2', 'gone soon'));
  history.add(msg('e1', 'lunch at one', { action: { t: 'edit', of: 'm1' } }));
  history.add(msg('d2', '', { action: { t: 'delete', of: 'm2' } }));
  history.add(msg('o1', 'other room', { conversation: 'O'.repeat(43) }));
  assert.deepEqual([...actions.indexableOf(ROOM)].map((x) => [x.id, x.text]), [['m1', 'lunch at one']]);
  assert.deepEqual([...actions.indexableOf('O'.repeat(43))].map((x) => x.id), ['o1']);
});
