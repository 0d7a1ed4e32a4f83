// A react-flood costs each reaction no more as it grows (a hostile member toggling 👍 on and off
// one message for ever), over a real store.db in a temp folder: what one more reaction reads (as a
// receiver applies it, as the react command checks it, as history shows the message) is counted
// in store pages read from the file, with SQLite's page cache made small so that what a query
// touches is read again. Before, each sender's rows on the message were counted with a GROUP BY
// and a page's actions found with a DISTINCT, both reading every one of the flooder's rows: ~5 ms
// a reaction at 20,000 of her rows, ~20 ms at 100,000 (test/bench/actions-micro.ts --flood).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test, type TestContext } from 'node:test';
import type { StoredMessage } from '../../peer/history.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

/** SQLite's page cache, in pages: the tree's top stays cached, a scan of her rows does not. */
const CACHE_PAGES = 32;

let rows = 0;
const react = (from: string, on: boolean): StoredMessage => storedMessage(`r${++rows}`, from, { action: { t: 'react', of: 'm', emoji: '👍', on } });

/** Counts the store's reads from its files (node-sqlite3-wasm's VFS reads with fs.readSync). */
function countReads(t: TestContext): { reads: number } {
  const counter = { reads: 0 };
  const readSync = fs.readSync;
  t.mock.method(fs, 'readSync', (...args: Parameters<typeof fs.readSync>) => {
    counter.reads++;
    return (readSync as (...a: unknown[]) => number)(...args);
  });
  return counter;
}

test("one more reaction of a member who toggled one message thousands of times reads no more of the store as her rows grow", async (t) => {
  const { db, history, actions } = await storeFixture(t, 'p2p-reactions-flood-');
  db.run(`PRAGMA cache_size = ${CACHE_PAGES}`);
  const counter = countReads(t);
  history.add(storedMessage('m', 'alice', { text: 'ship it?' }));
  history.add(react('bob', true));
  history.add(react('carol', true));
  let flooded = 0;
  /** mallory's rows on m grown to `n`, then one more toggle of hers (on): the pages its work reads. */
  async function oneMoreAt(n: number): Promise<number> {
    for (; flooded < n; flooded++) history.add(react('mallory', flooded % 2 === 1));
    const row = react('mallory', true);
    history.add(row);
    await db.committed();
    const before = counter.reads;
    // As a receiver applies it, as her react command checks before sending, as history shows m.
    const told = actions.applied(row, named).told;
    const m = history.get(ROOM, 'm')!;
    const mine = actions.reactionsBy(m, 'mallory');
    const latest = history.latestActionTime(ROOM, 'm', 'react', 'mallory');
    const state = actions.stateOf(m);
    const page = actions.statesOf(ROOM, [m]);
    const reads = counter.reads - before;
    // The same state whatever her count: her newest row put 👍 on, beside bob's and carol's.
    assert.deepEqual(told.map((x) => x.name === 'reaction' && x.e.on), [true]);
    assert.deepEqual([...mine], ['👍']);
    assert.equal(latest, row.sentAt);
    assert.deepEqual(state.reactions, [{ emoji: '👍', users: ['bob', 'carol', 'mallory'] }]);
    assert.deepEqual(page.get('m'), state);
    return reads;
  }
  const few = await oneMoreAt(1000);
  const many = await oneMoreAt(10_000);
  // Her 9,000 more index entries fill some 150 pages: reading them (once per count) would add
  // hundreds of reads. A deeper tree adds a few.
  assert.ok(many - few <= 16, `one more reaction read ${few} pages at 1,000 of her rows and ${many} at 10,000`);
});
