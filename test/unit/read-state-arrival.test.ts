// Unread by arrival (extension/read-state.ts ReadMark.arrived), pure: a late message above my read
// position is the first unread; a line left from an earlier opening goes when the unread ones are
// not in the window; deleting or reading elsewhere takes kept ones off by id; saved marks keep them.
// Over real engines: chat-model-late-unread.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { countedUnread, firstUnread, MAX_ARRIVED, parseReadMarks, ReadMarks } from '../../extension/read-state.ts';

const msg = (id: string, sentAt: number, from = 'bob', mentionsMe = false): TimelineMessage => ({ kind: 'message', id, from, text: id, sentAt, mine: from === 'me', mentionsMe });
// "late" arrived last but sits between m1 and m2; m3 was read (the position).
const items: TimelineItem[] = [msg('m1', 1), msg('late', 2, 'carol', true), msg('m2', 3), msg('m3', 4)];
const read = { id: 'm3', sentAt: 4 };

test('a late message kept by arrival: the first unread and counted, above my read position', () => {
  const marks = new ReadMarks(() => {});
  marks.read('r', read);
  marks.unreadOne('r', true, { id: 'late', sentAt: 2 });
  const mark = marks.get('r');
  assert.deepEqual(mark, { unread: 1, mentions: 1, lastRead: read, arrived: [{ id: 'late', sentAt: 2, mention: true }] });
  assert.equal(firstUnread(items, mark), 'late');
  assert.equal(countedUnread(items, mark, 'late'), true);
  assert.equal(countedUnread(items, mark, 'm2'), false, 'read before it came');
  assert.equal(firstUnread(items, { unread: 1, mentions: 0, lastRead: { id: 'm2', sentAt: 3 } }), 'm3', 'a saved mark without arrivals: by position');
});

test('a line from an earlier opening goes when the unread ones are not in the window; stays when nothing is unread', () => {
  const marks = new ReadMarks(() => {});
  marks.placeLine('r', items, { unread: 1, mentions: 0, lastRead: { id: 'm2', sentAt: 3 } });
  assert.equal(marks.line('r'), 'm3');
  marks.placeLine('r', items, { unread: 0, mentions: 0, lastRead: read });
  assert.equal(marks.line('r'), 'm3', 'nothing new: the line stays');
  marks.placeLine('r', items, { unread: 1, mentions: 0, lastRead: read, arrived: [{ id: 'older-than-the-window', sentAt: 0 }] });
  assert.equal(marks.line('r'), undefined, 'unread elsewhere: not the old line');
});

test('kept by arrival: deleted, edited, read elsewhere, by id; most MAX_ARRIVED kept; saved and read back', () => {
  const saved: unknown[] = [];
  const marks = new ReadMarks((m) => saved.push(m));
  marks.read('r', { id: 'm1', sentAt: 1 });
  marks.unreadOne('r', false, { id: 'm2', sentAt: 3 });
  marks.unreadOne('r', false, { id: 'm3', sentAt: 4 });
  marks.unreadOne('r', true, { id: 'late', sentAt: 2 });
  assert.equal(marks.unreadGone('r', false, 'late'), true);
  assert.deepEqual(marks.counts('r'), { unread: 2, mentions: 0 }, 'its mention goes with it, whatever the caller says');
  assert.equal(marks.arrivedUnread('r', 'late'), false);
  assert.equal(marks.mentionChanged('r', true, 'm3'), true);
  assert.deepEqual(marks.get('r')?.arrived, [{ id: 'm2', sentAt: 3 }, { id: 'm3', sentAt: 4, mention: true }]);
  assert.deepEqual(parseReadMarks(saved.at(-1)).get('r'), marks.get('r'), 'read back as saved');
  assert.equal(marks.readElsewhere('r', items, 'm2'), true);
  assert.deepEqual(marks.get('r'), { unread: 1, mentions: 1, lastRead: { id: 'm2', sentAt: 3 }, arrived: [{ id: 'm3', sentAt: 4, mention: true }] });

  for (let i = 0; i < MAX_ARRIVED + 5; i++) marks.unreadOne('many', false, { id: `x${i}`, sentAt: i });
  assert.equal(marks.get('many')?.unread, MAX_ARRIVED + 5);
  assert.equal(marks.get('many')?.arrived?.length, MAX_ARRIVED);
  assert.equal(marks.get('many')?.arrived?.[0]?.id, 'x5', 'the newest arrivals kept');
  const damaged = parseReadMarks([['r', { unread: 1, mentions: 0, arrived: [{ id: 'a', sentAt: 1 }, { id: 'b', sentAt: 2 }, { id: 7 }] }]]);
  assert.deepEqual(damaged.get('r')?.arrived, [{ id: 'b', sentAt: 2 }], 'malformed ones dropped, no more than the unread count (the newest)');
});
