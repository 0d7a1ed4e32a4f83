// The search index's loader (MessageActions.indexable over History.shownAsEdited, a real store.db in
// a temp folder) gives each shown message's current text (its author's latest edit; others' edits
// and deleted messages left out) and opens only the edit rows it uses. It used to open and hold
// every edit row of the store before the first message, anyone's and naming any id, outside the
// index's budget: a member's edits naming made-up ids, 4 KiB each, held 100 MiB per 20,000
// (test/bench/indexable-micro.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageAction } from '../../protocol/message-actions.ts';
import type { StoredMessage } from '../../peer/history.ts';
import { storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const msg = (id: string, from: string, text: string, action?: MessageAction): StoredMessage => storedMessage(id, from, { text, ...(action ? { action } : {}) });

test("the search loader gives current texts and opens only the edits it uses, however many edits others sent", async (t) => {
  const { db, history, actions } = await storeFixture(t, 'p2p-search-loader-');
  let opened = 0;
  const open = db.open.bind(db);
  db.open = (table, identity, sealed) => {
    opened++;
    return open(table, identity, sealed);
  };
  history.add(msg('m1', 'alice', 'lunch at noon'));
  history.add(msg('m2', 'bob', 'deploy on friday'));
  history.add(msg('m3', 'alice', 'gone soon'));
  history.add(msg('e1', 'alice', 'lunch at one', { t: 'edit', of: 'm1' }));
  history.add(msg('e2', 'alice', 'lunch at two', { t: 'edit', of: 'm1' }));
  history.add(msg('d3', 'alice', '', { t: 'delete', of: 'm3' }));
  // mallory's edits: of bob's message (not hers: never applied), and of ids that are nowhere.
  history.add(msg('x0', 'mallory', 'bob is wrong', { t: 'edit', of: 'm2' }));
  for (let i = 0; i < 300; i++) history.add(msg(`x${i + 1}`, 'mallory', `padding ${i} ${'z'.repeat(1000)}`, { t: 'edit', of: `made-up-${i}` }));

  opened = 0;
  const texts = [...actions.indexable()].map((m) => [m.id, m.text]).sort();
  assert.deepEqual(texts, [['m1', 'lunch at two'], ['m2', 'deploy on friday']]);
  // m1, m2 and alice's latest edit of m1: not the deleted m3, not one of mallory's rows.
  assert.equal(opened, 3);
});
