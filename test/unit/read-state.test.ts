// extension/read-state.ts on its own: where the "New messages" line goes, what a read receipt of
// mine from another device leaves unread, and read receipts that go out only when they advance,
// at most once per interval per conversation (on node:test's mock clock), never when turned off.
// (The same over real engines: chat-model-reads.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { firstUnread, ReadMarks, ReceiptSender, RECEIPT_INTERVAL_MS, unreadAfter } from '../../extension/read-state.ts';

const msg = (id: string, sentAt: number, from = 'bob', mentionsMe = false): TimelineMessage => ({ kind: 'message', id, from, text: id, sentAt, mine: from === 'me', mentionsMe });
const items: TimelineItem[] = [msg('m1', 1), msg('m2', 2), { kind: 'notice', id: 'n', time: 3, text: 'carol joined', level: 'info' }, msg('mine', 4, 'me'), msg('m5', 5, 'bob', true), msg('m6', 6)];

test('the "New messages" line: after my read position, never above my own message; by time when the position is out of the window; by count without one', () => {
  assert.equal(firstUnread(items, { unread: 2, mentions: 1, lastRead: { id: 'm2', sentAt: 2 } }), 'm5', 'my own message after the position is not unread');
  assert.equal(firstUnread(items, { unread: 1, mentions: 0, lastRead: { id: 'gone', sentAt: 5 } }), 'm6', 'the position is older than the window: by time');
  assert.equal(firstUnread(items, { unread: 3, mentions: 0 }), 'm2', 'no position: the third newest of the others');
  assert.equal(firstUnread(items, { unread: 9, mentions: 0 }), 'm1', 'more unread than shown: the first shown');
  assert.equal(firstUnread(items, { unread: 0, mentions: 0, lastRead: { id: 'm6', sentAt: 6 } }), undefined, 'all read');
  assert.equal(firstUnread(items, undefined), undefined, 'never opened nor counted');
});

test('my read receipt from another device: what comes after it stays unread, never more than before', () => {
  assert.equal(unreadAfter(items, 'm2'), 2);
  assert.equal(unreadAfter(items, 'm2', true), 1);
  assert.equal(unreadAfter(items, 'newer-than-the-window'), 0);
  const saved: unknown[] = [];
  const marks = new ReadMarks((m) => saved.push(m));
  marks.unreadOne('r', false);
  marks.unreadOne('r', true);
  marks.unreadOne('r', false);
  assert.equal(marks.readElsewhere('r', items, 'm2'), true);
  assert.deepEqual(marks.get('r'), { unread: 2, mentions: 1, lastRead: { id: 'm2', sentAt: 2 } });
  assert.equal(marks.readElsewhere('r', items, 'm1'), false, 'an older position does not add unread messages');
  assert.equal(marks.readElsewhere('r', items, 'm6'), true);
  assert.deepEqual(marks.counts('r'), { unread: 0, mentions: 0 });
  assert.equal(saved.length, 5, 'each change is saved');
});

test('the line set when a conversation opens stays when it is opened again with nothing new, and goes with another conversation', () => {
  const marks = new ReadMarks(() => {});
  marks.placeLine('r', items, { unread: 1, mentions: 0, lastRead: { id: 'm5', sentAt: 5 } });
  assert.equal(marks.line('r'), 'm6');
  marks.placeLine('r', items, { unread: 0, mentions: 0, lastRead: { id: 'm6', sentAt: 6 } });
  assert.equal(marks.line('r'), 'm6', 'shown again: the line stays');
  marks.placeLine('other', [], undefined);
  assert.equal(marks.line('r'), undefined);
  assert.equal(marks.line('other'), undefined);
});

test('read receipts: only when they advance, at most one per interval per conversation (the newest at its end), none when turned off', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const sent: string[] = [];
  let enabled = true;
  const receipts = new ReceiptSender(
    async (key, upTo) => void sent.push(`${key}:${upTo}`),
    () => enabled,
    (err) => assert.fail(String(err)),
  );
  receipts.seen('r', 'a');
  receipts.seen('r', 'a');
  receipts.seen('q', 'x');
  assert.deepEqual(sent, ['r:a', 'q:x'], 'at once, once; conversations apart');
  receipts.seen('r', 'b');
  receipts.seen('r', 'c');
  t.mock.timers.tick(RECEIPT_INTERVAL_MS - 1);
  assert.deepEqual(sent, ['r:a', 'q:x'], 'not within the interval');
  t.mock.timers.tick(1);
  assert.deepEqual(sent, ['r:a', 'q:x', 'r:c'], 'the newest at the end of the interval');
  t.mock.timers.tick(RECEIPT_INTERVAL_MS);
  receipts.seen('r', 'c');
  assert.equal(sent.length, 3, 'not advanced: nothing sent');
  receipts.seen('r', 'd');
  assert.deepEqual(sent.at(-1), 'r:d', 'a full interval later: at once');
  receipts.seen('r', 'e');
  enabled = false;
  receipts.cancel();
  t.mock.timers.tick(RECEIPT_INTERVAL_MS * 2);
  receipts.seen('r', 'f');
  receipts.seen('z', 'g');
  assert.deepEqual(sent.at(-1), 'r:d', 'turned off: the pending one and later ones never go out');
});
