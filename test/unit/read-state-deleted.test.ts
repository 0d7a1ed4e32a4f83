// extension/read-state.ts and deleted messages on their own: which message is counted unread
// (countedUnread), one fewer when it is deleted (ReadMarks.unreadGone), and deleted messages left
// out when counting back (firstUnread without a position, unreadAfter). Over real engines: chat-model-deleted-unread.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { countedUnread, firstUnread, ReadMarks, unreadAfter } from '../../extension/read-state.ts';

const msg = (id: string, sentAt: number, patch: Partial<TimelineMessage> = {}): TimelineMessage => ({ kind: 'message', id, from: 'bob', text: id, sentAt, mine: false, mentionsMe: false, ...patch });
const items: TimelineItem[] = [msg('m1', 1), msg('m2', 2), msg('mine', 3, { from: 'me', mine: true }), msg('gone', 4, { deleted: true, text: '' }), msg('m5', 5, { mentionsMe: true }), msg('m6', 6)];

test('countedUnread: after my read position or among the newest counted, never mine, deleted or outside the window', () => {
  const mark = { unread: 2, mentions: 1, lastRead: { id: 'm2', sentAt: 2 } };
  assert.equal(countedUnread(items, mark, 'm5'), true);
  assert.equal(countedUnread(items, mark, 'm6'), true);
  assert.equal(countedUnread(items, mark, 'm2'), false, 'read');
  assert.equal(countedUnread(items, mark, 'mine'), false, 'mine');
  assert.equal(countedUnread(items, mark, 'gone'), false, 'already deleted');
  assert.equal(countedUnread(items, mark, 'elsewhere'), false, 'not in the window');
  assert.equal(countedUnread(items, { unread: 0, mentions: 0, lastRead: { id: 'm6', sentAt: 6 } }, 'm6'), false, 'all read');
  assert.equal(countedUnread(items, { unread: 1, mentions: 0 }, 'm6'), true, 'no position: the newest one');
  assert.equal(countedUnread(items, { unread: 1, mentions: 0 }, 'm5'), false, 'no position: older than the counted ones');
});

test('deleted messages are not counted back: firstUnread without a position, unreadAfter', () => {
  assert.equal(firstUnread(items, { unread: 3, mentions: 0 }), 'm2', 'the third newest of the others, the deleted one left out');
  assert.equal(unreadAfter(items, 'm2'), 2);
});

test('unreadGone: one fewer, a mention one fewer too, never below 0, saved', () => {
  const saved: unknown[] = [];
  const marks = new ReadMarks((m) => saved.push(m));
  assert.equal(marks.unreadGone('general', true), false, 'no mark: nothing to take');
  marks.unreadOne('general', true);
  marks.unreadOne('general', false);
  assert.equal(marks.unreadGone('general', true), true);
  assert.deepEqual(marks.counts('general'), { unread: 1, mentions: 0 });
  assert.equal(marks.unreadGone('general', false), true);
  assert.deepEqual(marks.counts('general'), { unread: 0, mentions: 0 });
  assert.equal(marks.unreadGone('general', false), false, 'never below 0');
  assert.deepEqual(saved.at(-1), [['general', { unread: 0, mentions: 0 }]]);
});
