// The search index's memory bound (peer/search-index.ts) against hostile input: characters that
// fold long (U+FDFA folds to 18 characters, squared katakana words to 5, ligatures to 3) are
// counted after folding, tiny messages are charged their entry, a flood into one conversation
// evicts that conversation's own history (a fair share, overShare), building from a store far
// bigger than the budget never holds more than twice it, and a hit deep in a long message still
// shows its match.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEARCH_LIMITS } from '../../protocol/message-actions.ts';
import { ENTRY_CHARS, SearchIndex, foldText, type IndexedMessage } from '../../peer/search-index.ts';
import { Held, overShare } from '../../peer/search-entries.ts';
import { foldBounded } from '../../peer/search-text.ts';

const MAX = 4_096;
const A = 'room-a';
const B = 'room-b';
const STRANGER = 'dm:mallory:me';
let clock = 0;
const msg = (conversation: string, id: string, text: string, from = 'alice'): IndexedMessage => ({ conversation, id, from, sentAt: ++clock, text });
/** How many of `conversation`'s messages are indexed (at most maxResults), by a word they all hold. */
const held = (idx: SearchIndex, conversation: string, word: string) => idx.search(word, { conversation, limit: SEARCH_LIMITS.maxResults }).length;

// Heavy expanders: one character, many folded ones.
const EXPANDERS: [string, string][] = [
  ['U+FDFA', '\ufdfa'], // 18
  ['U+FDFB', '\ufdfb'], // 8
  ['U+3315 (squared kiroguramu)', '\u3315'], // 5
  ['U+3300 (squared apaato)', '\u3300'], // 4
  ['U+FB03 (ffi ligature)', '\ufb03'], // 3
  ['U+33FF (squared gal)', '\u33ff'], // 3
];

test('the bound counts folded characters: a message of characters that fold long holds at most maxCharsPerMessage of each', () => {
  for (const [name, ch] of EXPANDERS) {
    const expansion = foldText(ch).length;
    assert.ok(expansion >= 3, `${name} folds to ${expansion}`);
    const idx = new SearchIndex(() => [msg(A, 'm1', ch.repeat(MAX))], { maxCharsPerMessage: MAX });
    const firstWord = foldText(ch).split(' ')[0]!;
    const [hit] = idx.search(firstWord, { limit: 1 });
    assert.ok(hit, `${name}: the message is still found by what it folds to`);
    assert.ok(hit.text.endsWith('…'), `${name}: the hit says the text was cut`);
    const { chars } = idx.coverage();
    // text + folded, each at most MAX, + the id + the entry: not MAX * (1 + expansion).
    assert.ok(chars <= 2 * MAX + 'm1'.length + ENTRY_CHARS, `${name}: ${chars} characters charged for one message (folds x${expansion})`);
    // What is kept is the longest prefix whose folding fits: as many whole characters as fit.
    assert.ok(chars - 'm1'.length - ENTRY_CHARS >= MAX - expansion + Math.floor(MAX / expansion), `${name}: ${chars}: no more cut than needed`);
  }
  // Text before the expanders is kept and found; combining marks stay with their letter.
  const idx = new SearchIndex(() => [msg(A, 'm1', `Café needle ${'\ufdfa'.repeat(MAX)}`)], { maxCharsPerMessage: MAX });
  assert.deepEqual(idx.search('cafe needle', { limit: 1 }).map((h) => h.id), ['m1']);
  assert.ok(idx.coverage().chars <= 2 * MAX + 2 + ENTRY_CHARS);
});

test('a flood of long-folding direct messages from one stranger does not evict the other conversations', () => {
  const mine = [...Array.from({ length: 60 }, (_, i) => msg(A, `a${i}`, `alpha note ${i} about the plan`)), ...Array.from({ length: 60 }, (_, i) => msg(B, `b${i}`, `alpha status ${i} for bob`, 'bob'))];
  const budget = 2_000_000;
  const idx = new SearchIndex(() => mine, { maxTotalChars: budget, maxCharsPerMessage: MAX });
  assert.equal(held(idx, A, 'alpha'), 60);
  // 5 MB of U+FDFA (3 bytes each in UTF-8) was enough to empty a 32 M index of everything else.
  const flood = 600;
  for (let i = 0; i < flood; i++) idx.put(msg(STRANGER, `s${i}`, '\ufdfa'.repeat(MAX), 'mallory'));
  assert.equal(held(idx, A, 'alpha'), 60, 'every message of room A is still searched');
  assert.equal(held(idx, B, 'alpha'), 60, 'and of room B');
  const c = idx.coverage();
  assert.ok(c.chars <= budget, `${c.chars} characters held`);
  assert.ok(c.evicted > 0 && c.evicted < flood, `${c.evicted} evicted: the stranger's oldest`);
  const strangers = c.messages - 120;
  assert.equal(strangers, flood - c.evicted);
  assert.ok(strangers * (2 * MAX + ENTRY_CHARS) >= budget / 2, `${strangers} of the stranger's messages kept: each charged at most 2 * ${MAX} + its entry`);
  assert.equal(idx.searchedFrom(A), undefined, 'a search of room A covers all of it');
  assert.equal(idx.searchedFrom(B), undefined);
  assert.ok(idx.searchedFrom(STRANGER)! > 120, 'a search of the flooded conversation says it lost its oldest');
});

test('fair share: past the budget, the conversation holding the most gives up its oldest; one under its share keeps all', () => {
  const line = (i: number) => `word${String(i).padStart(4, '0')} padded`; // 15 characters
  const per = 15 + 4 + ENTRY_CHARS; // + an id of 4
  const messages = [
    ...Array.from({ length: 10 }, (_, i) => msg(A, `a${String(i).padStart(3, '0')}`, line(i))),
    ...Array.from({ length: 30 }, (_, i) => msg(B, `b${String(i).padStart(3, '0')}`, line(i))),
    ...Array.from({ length: 200 }, (_, i) => msg(STRANGER, `s${String(i).padStart(3, '0')}`, line(i), 'mallory')),
  ];
  const idx = new SearchIndex(() => messages, { maxTotalChars: 100 * per });
  // Built at once from the store: A (10) and B (30) are under the share and keep all; the rest is the stranger's.
  assert.equal(held(idx, A, 'word'), 10);
  assert.equal(held(idx, B, 'word'), 30);
  assert.equal(held(idx, STRANGER, 'word'), 60);
  assert.deepEqual(idx.search('word0140', { conversation: STRANGER, limit: 1 }).map((h) => h.id), ['s140'], 'the stranger keeps its newest');
  assert.equal(idx.search('word0139', { conversation: STRANGER, limit: 1 }).length, 0);
  assert.equal(idx.searchedFrom(STRANGER), messages.find((m) => m.id === 's139')!.sentAt + 1);
  assert.equal(idx.searchedFrom(A), undefined);
  // Room B grows past the stranger: now B and the stranger share what A leaves, ~45 each.
  for (let i = 30; i < 120; i++) idx.put(msg(B, `b${String(i).padStart(3, '0')}`, line(i), 'bob'));
  assert.equal(held(idx, A, 'word'), 10, 'A, under its share, never loses one');
  const b = held(idx, B, 'word');
  const s = held(idx, STRANGER, 'word');
  assert.equal(b + s, 90);
  assert.ok(Math.abs(b - s) <= 1, `B ${b}, stranger ${s}: an equal share`);
  assert.ok(idx.searchedFrom(B) !== undefined && idx.searchedFrom(A) === undefined);
  assert.ok(idx.coverage().chars <= 100 * per);
});

test('each message is charged its entry: a flood of one-character messages holds at most budget / ENTRY_CHARS of them', () => {
  const budget = 200 * ENTRY_CHARS;
  const idx = new SearchIndex(() => [msg(A, 'keep', 'the release plan')], { maxTotalChars: budget });
  idx.search('plan', { limit: 1 });
  for (let i = 0; i < 5_000; i++) idx.put(msg(STRANGER, `s${i}`, 'x', 'mallory'));
  const c = idx.coverage();
  assert.ok(c.messages <= 200, `${c.messages} messages held on a budget of ${budget} characters`);
  assert.ok(c.chars <= budget);
  assert.deepEqual(idx.search('plan', { limit: 1 }).map((h) => h.id), ['keep'], 'and they evict their own, not room A');
});

test('building from a store far bigger than the budget never holds more than twice it', () => {
  const budget = 50 * (40 + ENTRY_CHARS);
  let peak = 0;
  let idx: SearchIndex | undefined;
  const load = function* (): Iterable<IndexedMessage> {
    for (let i = 0; i < 5_000; i++) {
      peak = Math.max(peak, idx!.coverage().chars);
      yield msg(i % 3 ? A : B, `m${i}`, `stored message number ${String(i).padStart(5, '0')} text`);
    }
  };
  idx = new SearchIndex(load, { maxTotalChars: budget });
  assert.deepEqual(idx.search('04999', { limit: 1 }).map((h) => h.id), ['m4999']);
  assert.ok(peak <= 2 * budget + 40 + ENTRY_CHARS, `${peak} characters held while building, budget ${budget}`);
  const c = idx.coverage();
  assert.ok(c.chars <= budget && c.evicted > 4_000, JSON.stringify(c));
  assert.equal(c.messages + c.evicted, 5_000);
});

test('foldBounded: the kept text is the longest prefix (whole code points) whose folding fits, and its folding is foldText of it', () => {
  const pool = ['a', 'B', ' ', ' ', 'é', 'e\u0301', '\u0301', '\u0308', '\ufb03', '\ufdfa', '한', '🎉', '👍🏽', '\u3315', 'İ', 'ß', 'Ω', '\n', 'x'.repeat(70), '中'];
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  for (let t = 0; t < 3_000; t++) {
    let s = '';
    for (let i = rand(300); i > 0; i--) s += pool[rand(pool.length)];
    const max = 20 + rand(2_000);
    const r = foldBounded(s, max);
    const at = JSON.stringify({ s: s.slice(0, 80), max });
    assert.ok(r.text.length <= max && r.folded.length <= max, at);
    assert.equal(r.folded, foldText(r.text), at);
    assert.ok(s.startsWith(r.text) && !lone.test(r.text), at);
    assert.equal(r.cut, r.text !== s, at);
    if (r.cut) {
      // One more code point (with the marks after it) would not fit.
      const cp = String.fromCodePoint(s.codePointAt(r.text.length)!);
      const more = s.slice(0, r.text.length + cp.length);
      assert.ok(more.length > max || foldText(more).length > max, `cut short: ${at}`);
    }
  }
});

test('a hit deep in a long non-ASCII message shows its match (whole pieces before it are skipped, at any offset)', () => {
  const messages: IndexedMessage[] = [];
  const pads = ['é', 'e\u0301', '中', '\ufb03', 'É ', '🎉', 'ab\u0308 '];
  for (const pad of pads) for (const n of [1, 50, 63, 64, 65, 127, 128, 129, 700]) messages.push(msg(A, `${pads.indexOf(pad)}-${n}`, `${pad.repeat(n)}Target wörd ${'ü'.repeat(n)}`));
  const hits = new SearchIndex(() => messages).search('target word', { limit: SEARCH_LIMITS.maxResults });
  assert.equal(hits.length, messages.length);
  for (const h of hits) {
    assert.ok(h.text.includes('Target wörd'), `${h.id}: ${h.text}`);
    assert.ok(h.text.length <= SEARCH_LIMITS.contextChars + 2, `${h.id}: ${h.text.length}`);
  }
});

test('overShare: the largest gives up the excess alone when it stays the largest, else the largest ones are cut to an equal share', () => {
  const sizes = (...chars: number[]) => new Map(chars.map((c, i) => [`c${i}`, Object.assign(new Held(), { chars: c })]));
  const cut = (m: Map<string, Held>, max: number) => overShare(m, [...m.values()].reduce((t, h) => t + h.chars, 0), max).map(([c, , share]) => [c, share]);
  assert.deepEqual(cut(sizes(100, 50, 10), 120), [['c0', 60]]);
  assert.deepEqual(cut(sizes(100, 90, 10), 120), [['c0', 55], ['c1', 55]]);
  assert.deepEqual(cut(sizes(10, 300, 300, 300), 310), [['c1', 100], ['c2', 100], ['c3', 100]], 'one under its share keeps all');
  assert.deepEqual(cut(sizes(5, 5), 4), [['c0', 2], ['c1', 2]]);
  assert.deepEqual(cut(new Map(), 0), []);
});
