// extension/message-state.ts and the window's replace/repliesTo of extension/timelines.ts on their
// own: quotes (cut to QUOTE_CHARS, never inside a character; a deleted original quotes nothing),
// reactions with "mine", a stored change merged into the row the window holds (delivery counts
// kept, a deleted message's text, snippet and quote gone), and the bounded quote cache.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryMessage } from '../../protocol/client.ts';
import { QUOTE_CHARS } from '../../protocol/message-actions.ts';
import type { TimelineMessage } from '../../protocol/view.ts';
import { excerpt, fromHistory, MAX_QUOTES, QuoteCache, quoteOf, reactionsFor, withStored } from '../../extension/message-state.ts';
import { TimelineStore } from '../../extension/timelines.ts';

const snippet = { language: 'ts', path: 'src/a.ts', startLine: 3, endLine: 4, code: 'const a = 1;' };

test('quotes: one line, at most QUOTE_CHARS characters (an emoji is never cut), a snippet by its place, a deleted original by nothing but its author', () => {
  assert.equal(excerpt('first line\n\nsecond   line'), 'first line second line');
  const long = excerpt('🎉'.repeat(QUOTE_CHARS + 10));
  assert.equal([...long].length, QUOTE_CHARS);
  assert.ok(long.endsWith('🎉…'));
  assert.deepEqual(quoteOf('m', { id: 'm', from: 'bob', text: '', sentAt: 1, snippet }), { id: 'm', from: 'bob', excerpt: 'src/a.ts:3' });
  assert.deepEqual(quoteOf('m', { id: 'm', from: 'bob', text: '', sentAt: 1, deleted: true }), { id: 'm', from: 'bob', deleted: true });
  assert.deepEqual(quoteOf('m', undefined), { id: 'm' }, 'not stored here: the id alone');
});

test('stored messages as rows: reactions with "mine", edited, deleted without text, snippet or quote', () => {
  assert.deepEqual(reactionsFor([{ emoji: '👍', users: ['bob', 'me'] }, { emoji: '👀', users: [] }], 'me'), [{ emoji: '👍', users: ['bob', 'me'], mine: true }]);
  assert.equal(reactionsFor([], 'me'), undefined);
  const stored: HistoryMessage = { id: 'r', from: 'bob', text: 'hi @me', sentAt: 5, replyTo: 'm', edited: true, reactions: [{ emoji: '👍', users: ['me'] }], snippet };
  const row = fromHistory(stored, 'me', { id: 'm', from: 'carol', excerpt: 'q' });
  assert.deepEqual([row.mentionsMe, row.edited, row.replyTo?.excerpt, row.reactions?.[0]?.mine, row.snippet?.path], [true, true, 'q', true, 'src/a.ts']);
  const gone = fromHistory({ ...stored, text: '', deleted: true }, 'me', { id: 'm', excerpt: 'q' });
  assert.deepEqual(gone, { kind: 'message', id: 'r', from: 'bob', text: '', sentAt: 5, mine: false, mentionsMe: false, deleted: true });
});

test("a stored change merged into the window's row keeps my delivery count; a delete drops the text, snippet and quote", () => {
  const shown: TimelineMessage = { kind: 'message', id: 'x', from: 'me', text: 'old', sentAt: 1, mine: true, mentionsMe: false, delivered: { count: 1, of: 2 }, snippet, replyTo: { id: 'm', excerpt: 'q' } };
  const edited = withStored(shown, { id: 'x', from: 'me', text: 'new', sentAt: 1, edited: true, snippet, replyTo: 'm' }, 'me');
  assert.deepEqual([edited.text, edited.edited, edited.delivered, edited.replyTo], ['new', true, { count: 1, of: 2 }, { id: 'm', excerpt: 'q' }]);
  const deleted = withStored(shown, { id: 'x', from: 'me', text: '', sentAt: 1, deleted: true }, 'me');
  assert.deepEqual(deleted, { kind: 'message', id: 'x', from: 'me', text: '', sentAt: 1, mine: true, mentionsMe: false, deleted: true, delivered: { count: 1, of: 2 } });
});

test('the window replaces a row in place and finds the replies quoting a message; the quote cache is bounded and follows edits', async () => {
  const store = new TimelineStore();
  const row = (id: string, sentAt: number, replyTo?: string): TimelineMessage => ({ kind: 'message', id, from: 'bob', text: id, sentAt, mine: false, mentionsMe: false, ...(replyTo ? { replyTo: { id: replyTo } } : {}) });
  store.use({ page: async () => ({ items: [row('a', 1), row('b', 2, 'a'), row('c', 3, 'a')], more: false, newer: false }) });
  await store.load('r');
  assert.deepEqual(store.repliesTo('r', 'a').map((m) => m.id), ['b', 'c']);
  assert.equal(store.replace('r', { ...row('b', 2), text: 'changed' }), true);
  assert.equal((store.items('r')[1] as TimelineMessage).text, 'changed');
  assert.equal(store.replace('r', row('zz', 9)), false, 'not in the window: nothing kept');
  assert.equal(store.items('r').length, 3);

  const quotes = new QuoteCache();
  let lookups = 0;
  const stored = (id: string): HistoryMessage => ({ id, from: 'bob', text: `text of ${id}`, sentAt: 1 });
  assert.equal(quotes.get('r', 'a', () => (lookups++, stored('a'))).excerpt, 'text of a');
  assert.equal(quotes.get('r', 'a', () => (lookups++, stored('a'))).excerpt, 'text of a');
  assert.equal(lookups, 1, 'cached');
  quotes.replace('r', 'a', { ...stored('a'), text: '', deleted: true });
  assert.deepEqual(quotes.get('r', 'a', () => stored('a')), { id: 'a', from: 'bob', deleted: true });
  for (let i = 0; i < MAX_QUOTES + 5; i++) quotes.get('r', `m${i}`, () => stored(`m${i}`));
  lookups = 0;
  quotes.get('r', 'm0', () => (lookups++, stored('m0')));
  assert.equal(lookups, 1, 'the oldest quotes were dropped');
  quotes.get('r', 'secret', () => stored('secret'));
  quotes.deleted('r', 'secret');
  assert.deepEqual(quotes.get('r', 'secret', () => stored('secret')), { id: 'secret', from: 'bob', deleted: true }, 'deleted: its text leaves the cache');
  quotes.forget('r');
  lookups = 0;
  quotes.get('r', 'm6', () => (lookups++, stored('m6')));
  assert.equal(lookups, 1, 'a conversation left: its quotes go');
  quotes.get('r', 'missing', () => undefined);
  assert.equal(quotes.get('r', 'missing', () => stored('missing')).excerpt, 'text of missing', 'a miss is not kept: the original may come later');
});
