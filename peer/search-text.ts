// The text side of search (peer/search-index.ts): how messages and queries are folded so that
// case and accents do not matter, and the context a hit shows around its first match, cut in the
// message's own text (folded offsets mapped back code point by code point).

/** The folding applied to messages and queries alike: NFKD, combining marks stripped, lowercase. */
export function foldText(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase();
  // ß (and ẞ, which lowercases to it) is "ss" to whoever types it: the one full case folding
  // of a Latin letter that lowercasing leaves out.
  return s.normalize('NFKD').replace(MARKS, '').toLowerCase().replace(SHARP_S, 'ss');
}
const SHARP_S = /ß/g;
const ASCII = /^[\x00-\x7f]*$/;
const MARKS = /\p{M}/gu;
/** What separates the words of a query. */
export const WHITESPACE = /\s+/u;

/** UTF-16 halves of a code point above U+FFFF: a cut never falls between them. */
export const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
const MARK = /^\p{M}$/u;

/**
 * `text` as the index keeps it: at most `max` characters of it, and at most `max` characters of
 * its folding (foldText), so a character that folds long (U+FDFA: 18 characters, U+3315: 5, "ﬃ": 3)
 * cannot make one message hold more than its share: the kept text is the longest prefix whose
 * folding fits (whole code points, combining marks kept with their letter). `folded` is the kept
 * text's folding (the same string as `text` when folding changes nothing); `cut` when text was cut.
 * Never slices that keep a long original alive. Work: O(max), however long the text folds: it is
 * folded a piece at a time and folding stops at the piece that goes over.
 */
export function foldBounded(text: string, max: number): { text: string; folded: string; cut: boolean } {
  let cut = false;
  if (text.length > max) {
    let end = max;
    if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    text = copy(text.slice(0, end));
    cut = true;
  }
  if (ASCII.test(text)) {
    const folded = text.toLowerCase();
    return { text, folded: folded === text ? text : folded, cut };
  }
  let folded = '';
  for (let i = 0; i < text.length; ) {
    const j = pieceEnd(text, i);
    const part = foldText(text.slice(i, j));
    if (folded.length + part.length <= max) {
      folded += part;
      i = j;
      continue;
    }
    // The cut is in this piece: its code points while their folding fits.
    let k = i;
    for (let f = folded.length; k < j; ) {
      const n = isHighSurrogate(text.charCodeAt(k)) && isLowSurrogate(text.charCodeAt(k + 1)) ? 2 : 1;
      const fl = foldedLength(text.slice(k, k + n));
      if (f + fl > max) break;
      f += fl;
      k += n;
    }
    folded += foldText(text.slice(i, k));
    // Folding in context (a final sigma) could differ from code point by code point: never over.
    if (folded.length > max) folded = folded.slice(0, max);
    text = copy(text.slice(0, k));
    cut = true;
    break;
  }
  folded = copy(folded);
  return { text, folded: folded === text ? text : folded, cut };
}

/** Characters folded at once by foldBounded. */
const PIECE = 64;

/**
 * Where the piece of `text` from `i` ends: just after its last space or newline, where folding has no context
 * (no mark to reorder, no final sigma), or at PIECE characters before a letter when a word is longer
 * (anywhere when there is no letter: marks fold to nothing).
 */
function pieceEnd(text: string, i: number): number {
  const j = i + PIECE;
  if (j >= text.length) return text.length;
  for (let k = j - 1; k > i; k--) {
    const c = text.charCodeAt(k);
    if (c === 0x20 || c === 0x0a) return k + 1;
  }
  let k = j;
  while (k > i + 1 && (isLowSurrogate(text.charCodeAt(k)) || MARK.test(text[k]!))) k--;
  return k > i + 1 ? k : isLowSurrogate(text.charCodeAt(j)) ? j + 1 : j;
}

/** Characters folded at once by hitContext while the match is further than this. */
const BLOCK = 4_096;

/** Where a block of text from `i` ends for hitContext: just after its last space or newline within BLOCK characters, or `i` when none. */
function blockEnd(text: string, i: number): number {
  if (i + BLOCK >= text.length) return i;
  for (let k = i + BLOCK - 1; k > i; k--) {
    const c = text.charCodeAt(k);
    if (c === 0x20 || c === 0x0a) return k + 1;
  }
  return i;
}

/** A flat copy of `s` (a slice of a long string keeps all of it alive). */
const copy = (s: string) => Buffer.from(s, 'utf16le').toString('utf16le');

/** Length of one code point's folding (0 for a combining mark). */
function foldedLength(cp: string): number {
  return cp.length === 1 && cp.charCodeAt(0) < 0x80 ? 1 : foldText(cp).length;
}

/**
 * A search hit's context: at most `chars` characters of `e.text` around the earliest match of any
 * of the folded `words` in `e.folded` (foldText(e.text)), cut on word boundaries when one is near,
 * with "…" on a side that was cut (`e.cut`: the text itself was cut before), whitespace runs as one space.
 */
export function hitContext(e: { text: string; folded: string; cut: boolean }, words: readonly string[], chars: number): string {
  let at = Infinity;
  let len = 0;
  for (const w of words) {
    const i = e.folded.indexOf(w);
    if (i >= 0 && i < at) [at, len] = [i, w.length];
  }
  const text = e.text;
  // Where the match is in the text: fold code point by code point until the folded offset is reached.
  let start = 0;
  let end = text.length;
  let found = false;
  // ASCII folds one to one. Otherwise whole pieces before the match are skipped (folded together:
  // pieces fold independently, pieceEnd), so a hit deep in a long message costs O(max), not a
  // folding per code point (500 hits in messages of 4,000 "é" took 1.4 s).
  // Folding that changed nothing (lowercase text, CJK) maps offsets one to one, as ASCII does.
  const ascii = e.folded === text || ASCII.test(text);
  if (ascii && at !== Infinity) [start, end, found] = [at, Math.min(text.length, at + len), true];
  // `walked`: the end of the piece the match starts in, walked code point by code point.
  for (let i = 0, f = 0, walked = 0, blocked = 0; !ascii && i < text.length; ) {
    // Far from the match, a block of pieces is folded at once (one folding, not one per piece: a
    // hit at the end of a 60,000-character accented log cost ~25 ms); lengths add up at any space.
    if (!found && i >= blocked && at - f >= BLOCK) {
      const b = blockEnd(text, i);
      if (b > i) {
        const bl = foldText(text.slice(i, b)).length;
        if (f + bl <= at) {
          f += bl;
          i = b;
          continue;
        }
        blocked = b;
      }
    }
    // Only when the match is at least a piece away: near it, a code point at a time is cheaper.
    if (!found && i >= walked && at - f >= PIECE && text.length - i > PIECE) {
      const j = pieceEnd(text, i);
      const piece = text.slice(i, j);
      const pl = ASCII.test(piece) ? piece.length : foldText(piece).length;
      if (f + pl <= at) {
        f += pl;
        i = j;
        continue;
      }
      walked = j;
    }
    const n = isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
    const fl = foldedLength(text.slice(i, i + n));
    if (!found && f + fl > at) [start, found] = [i, true];
    f += fl;
    i += n;
    if (found && f >= at + len) {
      end = i;
      break;
    }
  }
  while (end < text.length && MARK.test(text[end]!)) end++;
  let s = 0;
  let t = text.length;
  if (text.length > chars) {
    const lead = Math.max(0, Math.floor((chars - (end - start)) / 2));
    s = Math.max(0, start - lead);
    t = Math.min(text.length, s + chars);
    s = Math.max(0, t - chars);
    // Start and end on a word boundary when one is near, never inside the match.
    if (s > 0) {
      const space = text.slice(s, Math.min(start, s + 16)).search(WHITESPACE);
      if (space >= 0) s += space + 1;
    }
    if (t < text.length) {
      const tail = text.slice(Math.max(end, t - 16), t);
      const space = tail.lastIndexOf(' ');
      if (space >= 0) t = Math.max(end, t - 16) + space;
    }
    if (isLowSurrogate(text.charCodeAt(s))) s++;
    if (isHighSurrogate(text.charCodeAt(t - 1))) t--;
    while (s < start && MARK.test(text[s]!)) s++;
  }
  const body = text.slice(s, t).replace(/\s+/gu, ' ');
  return (s > 0 ? '…' : '') + body + (t < text.length || e.cut ? '…' : '');
}
