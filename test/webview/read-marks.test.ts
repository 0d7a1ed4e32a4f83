// The view's pure steps for issue 12, in Node: "Seen by" from read receipts (webview/seen-by.ts),
// and message/updated applied to the timeline window with the quotes of replies brought along
// (webview/timeline-window.ts updateMessage), the search highlighting's words (webview/search-words.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenedConversation, TimelineItem } from '../../protocol/view.ts';
import { queryWords } from '../../webview/search-words.ts';
import { seenBy } from '../../webview/seen-by.ts';
import { excerptOf, rowsOf, updateMessage } from '../../webview/timeline-window.ts';
import { GENERAL_MEMBERS, ME, message, notice } from './fixtures.ts';

const T = Date.UTC(2026, 10, 25, 9);

function open(timeline: TimelineItem[], reads: OpenedConversation['reads']): OpenedConversation {
  return { key: 'general', title: 'general', direct: false, timeline, members: GENERAL_MEMBERS, typing: [], ...(reads ? { reads } : {}) };
}

test('seen by: each member once, under the newest of my messages at or before their mark', () => {
  const timeline = [message('a1', ME, 'x', T), message('b1', 'bob', 'x', T + 1), notice('n', 'x', T + 2), message('a2', ME, 'x', T + 3), message('c1', 'carol', 'x', T + 4), message('a3', ME, 'x', T + 5)];
  const seen = seenBy(
    open(timeline, [
      { user: 'bob', upTo: 'c1' },
      { user: 'carol', upTo: 'a3' },
      { user: 'dave', upTo: 'a1' },
      { user: 'erin', upTo: 'missing' },
      { user: ME, upTo: 'a3' },
    ]),
    ME,
  );
  assert.deepEqual([...seen], [
    ['a2', ['bob']],
    ['a3', ['carol']],
    ['a1', ['dave']],
  ]);
  assert.equal(seenBy(open(timeline, []), ME).size, 0);
  assert.equal(seenBy(open([message('b1', 'bob', 'x', T)], [{ user: 'bob', upTo: 'b1' }]), ME).size, 0, 'no message of mine: nothing');
  // A deleted message of mine is not where "seen by" goes: the one before it is.
  const deleted = [message('a1', ME, 'x', T), message('a2', ME, '', T + 1, { deleted: true })];
  assert.deepEqual([...seenBy(open(deleted, [{ user: 'bob', upTo: 'a2' }]), ME)], [['a1', ['bob']]]);
});

test("seen by goes no further than the newest of my messages the reader had (the receipt's `mine`)", () => {
  // a2 reached bob after he read up to c1: it sorts before c1, but his receipt says he had a1 only.
  const timeline = [message('a1', ME, 'x', T), message('a2', ME, 'x', T + 1), message('c1', 'carol', 'x', T + 2), message('a3', ME, 'x', T + 3)];
  const seen = (reads: OpenedConversation['reads']) => [...seenBy(open(timeline, reads), ME)];
  assert.deepEqual(seen([{ user: 'bob', upTo: 'c1', mine: 'a1' }]), [['a1', ['bob']]]);
  assert.deepEqual(seen([{ user: 'bob', upTo: 'c1', mine: 'a2' }]), [['a2', ['bob']]], 'he had a2: seen');
  assert.deepEqual(seen([{ user: 'bob', upTo: 'c1', mine: null }]), [], 'none of mine: under none');
  assert.deepEqual(seen([{ user: 'bob', upTo: 'c1', mine: 'gone' }]), [], 'his newest of mine not loaded: not shown');
  assert.deepEqual(seen([{ user: 'bob', upTo: 'c1', mine: 'a3' }]), [['a2', ['bob']]], 'a `mine` after the position does not move him past it');
  assert.deepEqual(seen([{ user: 'bob', upTo: 'c1' }]), [['a2', ['bob']]], 'a receipt without `had` (an older client) counts up to its position');
});

test('updateMessage replaces the message and the quotes of replies to it; nothing when not held', () => {
  const original = message('m1', 'bob', 'the   original\ntext', T);
  const reply = message('m2', 'carol', 'agreed', T + 1, { replyTo: { id: 'm1', from: 'bob', excerpt: 'the original text' } });
  const o = open([original, reply, message('m3', 'bob', 'other', T + 2)], undefined);
  const w = { open: o, rows: rowsOf(o) };
  const edited = updateMessage(w, { ...original, text: 'the edited text', edited: true })!;
  assert.equal((edited.open.timeline[0] as typeof original).text, 'the edited text');
  assert.deepEqual((edited.open.timeline[1] as typeof reply).replyTo, { id: 'm1', from: 'bob', excerpt: 'the edited text' });
  assert.equal(edited.open.timeline[2], o.timeline[2], 'others untouched');
  const deleted = updateMessage(edited, { ...original, text: '', deleted: true })!;
  assert.deepEqual((deleted.open.timeline[1] as typeof reply).replyTo, { id: 'm1', from: 'bob', deleted: true });
  assert.equal(updateMessage(w, message('zz', 'bob', 'x', T)), undefined);
  assert.equal(excerptOf('a\n\n b'), 'a b');
  assert.equal(excerptOf('x'.repeat(500)).length, 140);
});

test('search words: distinct, lower case, longest first, at most 16', () => {
  assert.deepEqual(queryWords('  Deploy  deploy FRI  '), ['deploy', 'fri']);
  assert.equal(queryWords(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')).length, 16);
});
