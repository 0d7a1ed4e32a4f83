// webview/rows.ts in Node: day separators, grouping by sender, appending equals rebuilding, and
// the typing sentence.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { TimelineItem } from '../../protocol/view.ts';
import { appendRows, buildRows, GROUP_WINDOW_MS, replaceMessage, typingText, type Row } from '../../webview/rows.ts';
import { message, notice } from './fixtures.ts';

const NOW = new Date(2026, 10, 25, 15, 0).getTime();
const at = (day: number, hour: number, minute = 0) => new Date(2026, 10, day, hour, minute).getTime();
const shape = (rows: Row[]) =>
  rows.map((r) => (r.kind === 'day' ? `day:${r.label}` : r.kind === 'notice' ? `notice:${r.item.id}` : r.kind === 'older' || r.kind === 'newer' ? r.kind : r.kind === 'unread' ? 'NEW' : `${r.item.id}${r.head ? '*' : ''}`));

test('a day separator before each new day, labelled Today and Yesterday', () => {
  const rows = buildRows([message('a', 'bob', 'x', at(20, 10)), message('b', 'bob', 'x', at(24, 23, 59)), message('c', 'bob', 'x', at(25, 0, 1))], NOW);
  const labels = rows.filter((r) => r.kind === 'day').map((r) => (r as Extract<Row, { kind: 'day' }>).label);
  assert.equal(labels.length, 3);
  assert.deepEqual(labels.slice(1), ['Yesterday', 'Today']);
  assert.match(labels[0]!, /20/);
});

test('messages group by sender within 5 minutes; notices and other senders break groups', () => {
  const t = at(25, 9);
  const items: TimelineItem[] = [
    message('a', 'bob', 'x', t),
    message('b', 'bob', 'x', t + GROUP_WINDOW_MS),
    message('c', 'bob', 'x', t + 2 * GROUP_WINDOW_MS + 1),
    message('d', 'carol', 'x', t + 2 * GROUP_WINDOW_MS + 2),
    message('e', 'bob', 'x', t + 2 * GROUP_WINDOW_MS + 3),
    notice('n', 'carol joined', t + 2 * GROUP_WINDOW_MS + 4),
    message('f', 'bob', 'x', t + 2 * GROUP_WINDOW_MS + 5),
    message('g', 'bob', 'x', t + 2 * GROUP_WINDOW_MS + 6),
  ];
  assert.deepEqual(shape(buildRows(items, NOW)), ['day:Today', 'a*', 'b', 'c*', 'd*', 'e*', 'notice:n', 'f*', 'g']);
});

test('appending rows gives what rebuilding gives, for any timeline', () => {
  const item = fc.record({
    notice: fc.boolean(),
    from: fc.constantFrom('alice', 'bob', 'carol'),
    gap: fc.integer({ min: -60_000, max: 30 * 3_600_000 }),
  });
  fc.assert(
    fc.property(fc.array(item, { maxLength: 60 }), fc.nat(60), fc.nat(60), (spec, cutAt, unreadAt) => {
      let t = at(1, 8);
      const items: TimelineItem[] = spec.map((s, i) => {
        t += s.gap;
        return s.notice ? notice(`n${i}`, 'x', t) : message(`m${i}`, s.from, 'x', t);
      });
      const cut = Math.min(cutAt, items.length);
      const head = items.slice(0, cut);
      // The "New messages" line above any message (or none).
      const firstUnread = `m${unreadAt}`;
      let rows = buildRows(head, NOW, false, firstUnread);
      for (let i = cut; i < items.length; i++) rows = appendRows(rows, items.slice(0, i), [items[i]!], NOW, firstUnread);
      assert.deepEqual(rows, buildRows(items, NOW, false, firstUnread));
    }),
  );
});

test('the "New messages" line goes above the first unread message, which starts a group of its own', () => {
  const t = at(25, 9);
  const items = [message('a', 'bob', 'x', t), message('b', 'bob', 'x', t + 1000), message('c', 'bob', 'x', t + 2000)];
  assert.deepEqual(shape(buildRows(items, NOW, false, 'b')), ['day:Today', 'a*', 'NEW', 'b*', 'c']);
  assert.deepEqual(shape(buildRows(items, NOW, true, 'a')), ['older', 'day:Today', 'NEW', 'a*', 'b', 'c']);
  assert.deepEqual(shape(buildRows(items, NOW, false, 'not-here')), ['day:Today', 'a*', 'b', 'c'], 'a message not held: no line');
});

test('replaceMessage swaps one message row and keeps the others', () => {
  const rows = buildRows([message('a', 'alice', 'x', at(25, 9)), message('b', 'alice', 'y', at(25, 9, 1))], NOW);
  const updated = message('a', 'alice', 'x', at(25, 9), { delivered: { count: 2, of: 2 } });
  const next = replaceMessage(rows, updated);
  assert.notEqual(next, rows);
  assert.equal((next[1] as Extract<Row, { kind: 'message' }>).item, updated);
  assert.equal(next[2], rows[2]);
  assert.equal(replaceMessage(rows, message('zzz', 'bob', 'x', 0)), rows, 'unknown id: unchanged');
});

test('typing sentence', () => {
  assert.equal(typingText([]), '');
  assert.equal(typingText(['bob']), 'bob is typing…');
  assert.equal(typingText(['bob', 'carol']), 'bob and carol are typing…');
  assert.equal(typingText(['bob', 'carol', 'dave']), 'bob, carol and dave are typing…');
  assert.equal(typingText(['a', 'b', 'c', 'd']), '4 people are typing…');
});
