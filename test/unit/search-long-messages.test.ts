// Search finds words anywhere in a message, not only in its first 4,096 characters (a pasted log
// whose error is its last line, a shared snippet whose call is its last line), over a real sealed
// store and the engine's loader; and a message at the message limit is still bounded: its folding is
// cut at MAX_INDEXED_CHARS, and the total budget evicts whole long messages of the sender holding the most.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TEXT_BYTES } from '../../protocol/text-limit.ts';
import { ENTRY_CHARS, MAX_INDEXED_CHARS, SearchIndex, foldText, type IndexedMessage } from '../../peer/search-index.ts';
import { storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const LOG = Array.from({ length: 120 }, (_, i) => `2026-12-01T10:${String(i % 60).padStart(2, '0')}:00Z INFO worker ${i} heartbeat ok`).join('\n') + '\nFATAL OutOfMemoryError in BillingReconciler';
const CODE = Array.from({ length: 150 }, (_, i) => `  const value${i} = compute(${i}); // step ${i}`).join('\n') + '\n  return reconcileInvoices(values);';

test('a word past the 4,096th character of a message, or at the end of a long snippet, is found', async (t) => {
  assert.ok(LOG.indexOf('FATAL') > 5_000 && CODE.length > 6_000);
  const { history, index } = await storeFixture(t, 'p2p-search-long-');
  history.add(storedMessage('log', 'bob', { text: LOG }));
  history.add(storedMessage('snip', 'bob', { text: 'look at the end of this', snippet: { language: 'typescript', path: 'src/billing.ts', startLine: 10, endLine: 160, code: CODE } }));
  const ids = (q: string) => index.search(q, { limit: 50 }).map((h) => h.id);
  assert.deepEqual(ids('OutOfMemoryError'), ['log']);
  assert.deepEqual(ids('billingreconciler fatal'), ['log']);
  assert.deepEqual(ids('reconcileInvoices'), ['snip']);
  // The hit shows the match, from deep in the text, and says the text goes on before it.
  const [hit] = index.search('reconcileInvoices', { limit: 1 });
  assert.match(hit!.text, /^….*return reconcileInvoices\(values\);$/);
  assert.equal(index.coverage().evicted, 0);
});

test('a deep match in accented text shows its context; a message at the limit is charged at most its bound', () => {
  let clock = 0;
  const msg = (id: string, text: string, from = 'alice'): IndexedMessage => ({ conversation: 'room', id, from, sentAt: ++clock, text });
  const accented = `${'résumé café '.repeat(6_000)}Zürich needle`;
  const idx = new SearchIndex(() => [msg('deep', accented)]);
  const [hit] = idx.search('zurich needle', { limit: 1 });
  assert.ok(hit?.text.endsWith('Zürich needle'), hit?.text);
  // A message of the limit's worth of a character that folds to 18 (3 bytes of UTF-8 each), text and code.
  const worst = '\ufdfa'.repeat(Math.floor(MAX_TEXT_BYTES / 3));
  const big = new SearchIndex(() => [msg('w', `${worst}\npath\n${worst}`)]);
  assert.equal(big.search(foldText('\ufdfa').split(' ')[0]!, { limit: 1 }).length, 1);
  assert.ok(big.coverage().chars <= 2 * MAX_INDEXED_CHARS + 1 + ENTRY_CHARS, `${big.coverage().chars} charged`);
});

test('long messages fill the budget by what they hold: the sender holding the most loses their oldest', () => {
  let clock = 0;
  const msg = (id: string, text: string, from: string): IndexedMessage => ({ conversation: 'room', id, from, sentAt: ++clock, text });
  const budget = 1_000_000;
  const idx = new SearchIndex(() => Array.from({ length: 50 }, (_, i) => msg(`a${i}`, `alpha note ${i}`, 'alice')), { maxTotalChars: budget });
  assert.equal(idx.search('alpha', { limit: 500 }).length, 50);
  // 40 pasted logs of 60,000 characters each: 2.4 M, over the budget.
  for (let i = 0; i < 40; i++) idx.put(msg(`log${i}`, `${'x'.repeat(60_000)} tail${i}`, 'mallory'));
  const c = idx.coverage();
  assert.ok(c.chars <= budget, `${c.chars} charged`);
  assert.equal(idx.search('alpha', { limit: 500 }).length, 50, "alice's messages stay");
  assert.equal(idx.search('tail39', { limit: 1 }).length, 1, "mallory's newest log is found by its last word");
  assert.equal(idx.search('tail0', { limit: 1 }).length, 0, 'the oldest left');
  assert.ok(c.evicted > 20 && idx.searchedFrom('room') !== undefined);
});
