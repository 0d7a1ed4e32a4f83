// The search index (peer/search-index.ts): folding (case, accents), every word of the query, newest
// first, limit and one conversation, edits/deletes/forgotten conversations, the context cut, hostile
// queries, warm() in slices that let the event loop run, its bounds, and a build from a real sealed
// store (peer/store-db.ts + peer/history.ts) that leaves no plaintext on disk.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { isCoded } from '../../protocol/errors.ts';
import { SEARCH_LIMITS } from '../../protocol/message-actions.ts';
import { History } from '../../peer/history.ts';
import { ENTRY_CHARS, SearchIndex, foldText, type IndexedMessage } from '../../peer/search-index.ts';
import { StoreDb } from '../../peer/store-db.ts';

const A = 'room-a';
const B = 'room-b';
const m = (id: string, text: string, over: Partial<IndexedMessage> = {}): IndexedMessage =>
  ({ conversation: A, id, from: 'alice', sentAt: 1_000 + Number(id.replace(/\D/g, '') || 0), text, ...over });
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
const index = (messages: IndexedMessage[], options = {}) => new SearchIndex(() => messages, options);

test('folding: case and accents are ignored, the same way for the query and the text', () => {
  assert.equal(foldText('ÉCOLE Ärger'), 'ecole arger');
  assert.equal(foldText('e\u0301'), 'e', 'a decomposed accent folds like a composed one');
  assert.equal(foldText('ｆｕｌｌ'), 'full', 'NFKD: compatibility forms fold to their plain letters');
  const idx = index([m('m1', 'Rendez-vous au Café'), m('m2', 'cafe\u0301 noir'), m('m3', 'tea')]);
  assert.deepEqual(ids(idx.search('CAFE', { limit: 10 })), ['m2', 'm1']);
  assert.deepEqual(ids(idx.search('café', { limit: 10 })), ['m2', 'm1']);
  assert.deepEqual(ids(idx.search('Rendez', { limit: 10 })), ['m1']);
  // ß is ss, either way round and in either case (Unicode's full case folding).
  assert.equal(foldText('Hauptstraße STRAẞE'), 'hauptstrasse strasse');
  const streets = index([m('s1', 'Treffen in der Hauptstraße 5'), m('s2', 'Schlossstrasse')]);
  assert.deepEqual(ids(streets.search('STRASSE', { limit: 10 })), ['s2', 's1']);
  assert.deepEqual(ids(streets.search('straße', { limit: 10 })), ['s2', 's1']);
  const [hit] = streets.search('hauptstrasse', { limit: 1 });
  assert.ok(hit!.text.includes('Hauptstraße'), `the context shows the text as written: ${hit!.text}`);
});

test('every word of the query must occur, in any order, as part of a word', () => {
  const idx = index([m('m1', 'the build is green'), m('m2', 'green light'), m('m3', 'rebuilding now')]);
  assert.deepEqual(ids(idx.search('green build', { limit: 10 })), ['m1']);
  assert.deepEqual(ids(idx.search('build', { limit: 10 })), ['m3', 'm1'], 'a word matches inside a longer one');
  assert.deepEqual(ids(idx.search('green   light  green', { limit: 10 })), ['m2'], 'repeated words and spaces change nothing');
  assert.deepEqual(idx.search('green purple', { limit: 10 }), []);
});

test('newest first by sentAt, equal times in a stable order whatever the load order', () => {
  const messages = [
    m('m1', 'deploy', { sentAt: 50 }),
    m('m2', 'deploy', { sentAt: 10 }),
    m('x', 'deploy', { sentAt: 30, conversation: B }),
    m('y', 'deploy', { sentAt: 30, conversation: A }),
    m('z', 'deploy', { sentAt: 30, conversation: A }),
  ];
  const expected = ['m1', 'x', 'z', 'y', 'm2'];
  assert.deepEqual(ids(index(messages).search('deploy', { limit: 10 })), expected);
  assert.deepEqual(ids(index([...messages].reverse()).search('deploy', { limit: 10 })), expected);
  const hit = index(messages).search('deploy', { limit: 1 })[0]!;
  assert.deepEqual(hit, { conversation: A, id: 'm1', from: 'alice', sentAt: 50, text: 'deploy' });
});

test('at most limit results, the newest; a limit outside 1..maxResults is refused', () => {
  const idx = index(Array.from({ length: 30 }, (_, i) => m(`m${i}`, `note ${i}`)));
  assert.deepEqual(ids(idx.search('note', { limit: 3 })), ['m29', 'm28', 'm27']);
  assert.equal(idx.search('note', { limit: SEARCH_LIMITS.maxResults }).length, 30);
  for (const limit of [0, -1, 1.5, SEARCH_LIMITS.maxResults + 1, Number.NaN]) {
    assert.throws(() => idx.search('note', { limit }), (err) => isCoded(err, 'request.invalid'), `limit ${limit}`);
  }
});

test('one conversation only when asked', () => {
  const idx = index([m('m1', 'standup at ten'), m('m2', 'standup moved', { conversation: B }), m('m3', 'standup done')]);
  assert.deepEqual(ids(idx.search('standup', { conversation: B, limit: 10 })), ['m2']);
  assert.deepEqual(ids(idx.search('standup', { conversation: A, limit: 10 })), ['m3', 'm1']);
  assert.deepEqual(idx.search('standup', { conversation: 'room-none', limit: 10 }), []);
  assert.deepEqual(ids(idx.search('standup', { limit: 10 })), ['m3', 'm2', 'm1']);
});

test('put adds a new message in order and replaces an edited one; remove and forget take them out', () => {
  const idx = index([m('m1', 'typo in teh plan'), m('m2', 'lunch?'), m('m3', 'lunch at noon', { conversation: B })]);
  assert.deepEqual(ids(idx.search('teh', { limit: 10 })), ['m1']);
  idx.put(m('m1', 'typo in the plan')); // an edit: same conversation and id
  assert.deepEqual(idx.search('teh', { limit: 10 }), []);
  assert.deepEqual(ids(idx.search('plan', { limit: 10 })), ['m1'], 'one hit: replaced, not added');
  idx.put(m('m9', 'lunch later'));
  idx.put(m('m0', 'early lunch', { sentAt: 1 })); // arrived late, older than the rest
  assert.deepEqual(ids(idx.search('lunch', { limit: 10 })), ['m9', 'm3', 'm2', 'm0']);
  idx.remove(A, 'm2');
  idx.remove(A, 'unknown'); // nothing to remove: no error
  assert.deepEqual(ids(idx.search('lunch', { limit: 10 })), ['m9', 'm3', 'm0']);
  idx.forget(B);
  assert.deepEqual(ids(idx.search('lunch', { limit: 10 })), ['m9', 'm0']);
  assert.equal(idx.coverage().messages, 3);
});

test('a hit shows the text around its first match, cut with "…", whitespace runs as one space', () => {
  const before = 'alpha beta gamma delta '.repeat(20);
  const after = ' omega psi chi phi'.repeat(20);
  const long = `${before}the Élan\n\nvital moment${after}`;
  const idx = index([m('m1', long), m('m2', 'Élan at the start, then more words'), m('m3', `${'w '.repeat(200)}end élan`)]);
  const [last, short, middle] = idx.search('elan', { limit: 10 });
  assert.equal(short!.text, 'Élan at the start, then more words', 'a short text is whole');
  assert.ok(middle!.text.startsWith('…') && middle!.text.endsWith('…'), middle!.text);
  assert.ok(middle!.text.includes('the Élan vital moment'), `the match in its original form, newlines as a space: ${middle!.text}`);
  assert.ok(middle!.text.length <= SEARCH_LIMITS.contextChars + 2, `${middle!.text.length} characters`);
  assert.ok(middle!.text.length > SEARCH_LIMITS.contextChars / 2, 'a cut keeps most of the context');
  assert.match(middle!.text, /^…(alpha|beta|gamma|delta) .* (omega|psi|chi|phi)…$/, 'cut between words, not inside one');
  assert.ok(last!.text.startsWith('…') && last!.text.endsWith('end élan'), `the end is not cut: ${last!.text}`);
  // The first match of any word is the centre; a second word further on is not required to show.
  const [two] = idx.search('vital alpha', { limit: 1, conversation: A });
  assert.ok(two!.text.startsWith('alpha beta'), two!.text);
});

test('a cut never splits a code point or an accent from its letter', () => {
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const messages: IndexedMessage[] = [];
  for (let shift = 0; shift < 6; shift++) {
    const pad = 'x'.repeat(shift);
    messages.push(m(`e${shift}`, `${pad}${'🎉'.repeat(100)}target${'👍🏽'.repeat(100)}`));
    messages.push(m(`d${shift}`, `${pad}${'e\u0301'.repeat(100)}target${'a\u0308'.repeat(100)}`));
  }
  const hits = index(messages).search('target', { limit: 20 });
  assert.equal(hits.length, 12);
  for (const h of hits) {
    assert.ok(!lone.test(h.text), `no half of a surrogate pair: ${JSON.stringify(h.text)}`);
    assert.ok(!/^…\p{M}/u.test(h.text), `no accent without its letter at the start: ${JSON.stringify(h.text)}`);
    assert.ok(h.text.includes('target') && h.text.startsWith('…') && h.text.endsWith('…'));
    assert.ok(h.text.length <= SEARCH_LIMITS.contextChars + 2, `${h.text.length}`);
  }
});

test('hostile queries: regular-expression characters are plain text, 200 characters are fine, 201 are refused, no words find nothing', () => {
  const idx = index([m('m1', 'price is $5.00 (approx) [sic] a|b ^_^ \\o/'), m('m2', 'anything else at all'), m('m3', '🎉 party 🎉')]);
  assert.deepEqual(ids(idx.search('.*', { limit: 10 })), [], '".*" is not a pattern');
  assert.deepEqual(ids(idx.search('$5.00 (approx) [sic] a|b ^_^ \\o/', { limit: 10 })), ['m1']);
  assert.deepEqual(ids(idx.search('🎉', { limit: 10 })), ['m3']);
  const q200 = 'x'.repeat(SEARCH_LIMITS.queryChars);
  assert.deepEqual(idx.search(q200, { limit: 10 }), []);
  assert.deepEqual(ids(idx.search(`${'a '.repeat(99)}a`, { limit: 10 })), ['m3', 'm2', 'm1'], '100 one-letter words: the messages holding an "a"');
  assert.deepEqual(ids(idx.search(`${'a '.repeat(99)}y`, { limit: 10 })), ['m3', 'm2'], 'and each word must occur');
  assert.throws(() => idx.search(`${q200}x`, { limit: 10 }), (err) => isCoded(err, 'request.invalid') && /shorten/.test(err.message));
  for (const empty of ['', '   ', '\n\t', '\u0301\u0308']) assert.deepEqual(idx.search(empty, { limit: 10 }), [], JSON.stringify(empty));
  idx.put(m('m4', '__proto__ constructor toString'));
  assert.deepEqual(ids(idx.search('__proto__ constructor', { limit: 10 })), ['m4']);
});

test('warm() builds in slices that let the event loop run, once; a search before it builds first', async () => {
  let loads = 0;
  const messages = Array.from({ length: 20_000 }, (_, i) => m(`m${i}`, `message number ${i} about ${i % 2 ? 'search' : 'index'} work`, { conversation: i % 3 ? A : B }));
  const idx = new SearchIndex(() => (loads++, messages), { sliceMs: 1 });
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 0);
  await idx.warm();
  clearInterval(ticker);
  const c = idx.coverage();
  assert.equal(c.built, true);
  assert.equal(c.messages, 20_000);
  assert.ok(c.slices > 1, `${c.slices} slices`);
  assert.ok(ticks > 0, 'timers ran while it was warming');
  await idx.warm(); // built: nothing to do
  assert.equal(idx.search('number 19999', { limit: 5 }).length, 1);
  assert.equal(loads, 1);

  const cold = new SearchIndex(() => (loads++, messages));
  assert.deepEqual(ids(cold.search('number 1234 ', { limit: 2 })), ['m12349', 'm12348'], 'the first search builds the index');
  assert.equal(cold.coverage().built, true);
});

test('while warming, a delete, an edit and a forgotten conversation win over the copies still being loaded', async () => {
  const messages = Array.from({ length: 5_000 }, (_, i) => m(`m${i}`, `row ${i} sprint`, { conversation: i % 2 ? A : B }));
  const idx = new SearchIndex(() => messages, { sliceMs: 0 }); // slices of 63 messages: never done in one
  const warming = idx.warm();
  assert.equal(idx.coverage().built, false, 'warm() yields before it is done');
  idx.remove(A, 'm4999');
  idx.put(m('m4997', 'row 4997 retro'));
  idx.forget(B);
  const found = idx.search('sprint', { limit: 3 }); // finishes the build at once
  assert.deepEqual(ids(found), ['m4995', 'm4993', 'm4991']);
  assert.deepEqual(ids(idx.search('retro', { limit: 3 })), ['m4997']);
  await warming;
  assert.equal(idx.coverage().messages, 2_500 - 1);
});

test('a loader that fails leaves the index cold, and the next search loads again', () => {
  let fail = true;
  const idx = new SearchIndex(function* () {
    yield m('m1', 'kept');
    if (fail) throw new Error('the store is locked');
  });
  assert.throws(() => idx.search('kept', { limit: 1 }), /the store is locked/);
  assert.equal(idx.coverage().built, false);
  fail = false;
  assert.deepEqual(ids(idx.search('kept', { limit: 1 })), ['m1']);
});

test('bounds: a message is indexed up to maxCharsPerMessage; past maxTotalChars the oldest leave, and coverage says so', () => {
  const idx = index([m('m1', `${'a'.repeat(100)} needle`), m('m2', `${'b'.repeat(50)} needle`)], { maxCharsPerMessage: 80 });
  assert.deepEqual(ids(idx.search('needle', { limit: 10 })), ['m2'], 'a word past the indexed part is not found');
  assert.ok(idx.search('aaa', { limit: 1 })[0]!.text.endsWith('…'), 'a text indexed in part shows it was cut');

  // Each of these is charged its 23 characters, its id and ENTRY_CHARS.
  const budget = 5 * (ENTRY_CHARS + 30);
  const small = index(Array.from({ length: 10 }, (_, i) => m(`m${i}`, `entry${i} padded to twenty`)), { maxTotalChars: budget });
  assert.equal(small.coverage().built, false, 'coverage() does not build');
  assert.deepEqual(ids(small.search('entry0', { limit: 1 })), [], 'the oldest are gone');
  const c = small.coverage();
  assert.ok(c.chars <= budget, `${c.chars} characters held`);
  assert.equal(c.evicted, 10 - c.messages);
  assert.ok(c.evicted > 0 && c.searchedFrom === 1_000 + c.evicted, JSON.stringify(c));
  assert.deepEqual(ids(small.search('entry9', { limit: 1 })), ['m9']);
  small.put(m('m10', 'entry10 padded to twenty'));
  assert.equal(small.coverage().evicted, c.evicted + 1, 'a new message pushes the oldest out');
});

test('searchedFrom: absent until the index is full, then just after the newest message that left, also when it empties or an old one comes back', () => {
  const texts = (n: number, conversation = A) => Array.from({ length: n }, (_, i) => m(`m${i}`, `entry${i} padded to twenty`, { conversation }));
  const roomy = index(texts(10), { maxTotalChars: 10_000 });
  roomy.search('entry', { limit: 1 });
  assert.equal(roomy.coverage().searchedFrom, undefined, 'nothing left the index: every message is searched');

  const full = index(texts(10), { maxTotalChars: 4 * (ENTRY_CHARS + 30) });
  full.search('entry', { limit: 1 });
  const { evicted, searchedFrom } = full.coverage();
  assert.ok(evicted > 0 && evicted < 10, `${evicted} evicted`);
  // m0..m(evicted-1) left (sentAt 1000..): the first still searched is m(evicted).
  assert.equal(searchedFrom, 1_000 + evicted);
  assert.deepEqual(ids(full.search(`entry${evicted - 1}`, { limit: 1 })), [], 'the newest one that left is not found');
  assert.deepEqual(ids(full.search(`entry${evicted}`, { limit: 1 })), [`m${evicted}`], 'the first one after it is');
  full.put(m('m0', 'entry0 back', { sentAt: 1_000 }));
  assert.equal(full.coverage().searchedFrom, searchedFrom, 'an old message put back does not widen what is claimed');
  full.forget(A);
  assert.equal(full.coverage().messages, 0);
  assert.equal(full.coverage().searchedFrom, searchedFrom, 'an emptied index still says older messages were not searched');
});

test('built from a real sealed store, with nothing of the index or of the text in its files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-search-index-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(() => db.close());
  const history = new History(db);
  db.transaction(() => {
    for (let i = 0; i < 1_200; i++) history.add({ conversation: i % 2 ? A : B, id: `m${i}`, from: 'alice', session: 'S1', seq: i, sentAt: 5_000 + i, text: `Zebrafish ${i} quarterly` });
  });
  db.flush();
  const load = function* (): Iterable<IndexedMessage> {
    for (const conversation of [A, B]) {
      let before: string | undefined;
      for (;;) {
        const page = history.page(conversation, { limit: 500, ...(before ? { before } : {}) });
        for (const s of page.messages) yield { conversation, id: s.id, from: s.from, sentAt: s.sentAt, text: s.text };
        if (!page.more) break;
        before = page.messages[0]!.id;
      }
    }
  };
  const idx = new SearchIndex(load);
  await idx.warm();
  assert.equal(idx.coverage().messages, 1_200);
  assert.deepEqual(ids(idx.search('ZEBRAFISH quarterly', { limit: 2 })), ['m1199', 'm1198']);
  assert.deepEqual(ids(idx.search('zebrafish 97', { conversation: A, limit: 3 })), ['m1197', 'm1097', 'm997']);
  db.flush();
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  assert.ok(files.some((f) => f.name === 'store.db'));
  for (const f of files) {
    const file = join(f.parentPath, f.name);
    const bytes = readFileSync(file);
    assert.equal(bytes.includes('Zebrafish'), false, `${file} holds no message text`);
    assert.equal(bytes.includes('zebrafish'), false, `${file} holds no folded text`);
  }
});
