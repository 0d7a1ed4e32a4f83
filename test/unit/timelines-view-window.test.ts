// extension/timelines.ts windows for a view away from the newest (a search result or quote far
// back): the window around a message held here starts as far before it as one read from the store
// does (AROUND_BEFORE, half a page), and a newer page that meets the held window keeps the notices
// held between the page's own messages and the meeting point.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HISTORY_PAGE_DEFAULT } from '../../protocol/client.ts';
import type { TimelineMessage } from '../../protocol/view.ts';
import { AROUND_BEFORE, MAX_ITEMS, TimelineStore, type PageCursor } from '../../extension/timelines.ts';

const row = (n: number): TimelineMessage => ({ kind: 'message', id: `m${n}`, from: 'bob', text: `text ${n}`, sentAt: n * 10, mine: false, mentionsMe: false });
const ids = (items: readonly { kind: string; id?: string }[]) => items.map((i) => i.id);

/** 600 messages of bob: the store holds all, from m1; the first 201 are the newest page when first read. */
function scene(): { store: TimelineStore; all: TimelineMessage[] } {
  const all = Array.from({ length: 600 }, (_, i) => row(i + 1));
  const store = new TimelineStore();
  store.use({
    page: async (_key, cursor?: PageCursor) => {
      if (!cursor) return { items: all.slice(0, 201), more: false, newer: false };
      if ('after' in cursor) {
        const at = all.findIndex((m) => m.id === cursor.after);
        const items = all.slice(at + 1, at + 1 + HISTORY_PAGE_DEFAULT);
        return { items, more: true, newer: at + 1 + HISTORY_PAGE_DEFAULT < all.length };
      }
      throw new Error(`not used here: ${JSON.stringify(cursor)}`);
    },
  });
  return { store, all };
}

test('a newer page meeting the held window keeps the notice held between its own messages and the meeting point', async () => {
  const { store, all } = scene();
  await store.load('r');
  // carol joined between m201 and m202; then live messages until the window drops its oldest
  // (it keeps the newest KEEP_ITEMS items, of which the notice is the first).
  assert.equal(store.add('r', { kind: 'notice', id: 'n-carol', time: 2015, text: 'carol joined', level: 'info' }), true);
  for (const m of all.slice(201)) store.add('r', m);
  const held = store.items('r');
  assert.ok(held.length < MAX_ITEMS, 'the window dropped its oldest');
  assert.equal(held[0]!.id, 'n-carol', 'the notice is the first item held');

  const first = await store.newer('r', 'm150');
  assert.deepEqual([first.newer, first.items.length], [true, HISTORY_PAGE_DEFAULT], 'a store page, not meeting the window');
  assert.equal(first.items.at(-1)!.id, 'm200');
  const meeting = await store.newer('r', 'm200');
  assert.deepEqual(ids(meeting.items.slice(0, 3)), ['m201', 'n-carol', 'm202'], 'the notice between the page and the window is kept');
  // The view reads on until the newest: every message after m200 once, in order.
  const seen = [...meeting.items];
  for (let page = meeting; page.newer; ) {
    page = await store.newer('r', seen.filter((i) => i.kind === 'message').at(-1)!.id);
    seen.push(...page.items);
  }
  assert.deepEqual(ids(seen.filter((i) => i.kind === 'message')), ids(all.slice(200)));
});

test('the window around a message held here starts AROUND_BEFORE items before it, as a store page does (half a page)', async () => {
  const { store, all } = scene();
  await store.load('r');
  for (const m of all.slice(201)) store.add('r', m);
  assert.equal(AROUND_BEFORE, Math.floor((HISTORY_PAGE_DEFAULT - 1) / 2));
  const page = await store.around('r', 'm400');
  assert.equal(page.items[AROUND_BEFORE]!.id, 'm400');
  assert.equal(page.items[0]!.id, `m${400 - AROUND_BEFORE}`);
  assert.equal(page.more, true);
});
