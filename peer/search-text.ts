// The text side of search (peer/search-index.ts): how messages and queries are folded so that
// case and accents do not matter, and the context a hit shows around its first match, cut in the
// message's own text (folded offsets mapped back code point by code point).

/** The folding applied to messages and queries alike: NFKD, combining marks stripped, lowercase. */
export function foldText(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFKD').replace(MARKS, '').toLowerCase();
}
const ASCII = /^[\x00-\x7f]*$/;
const MARKS = /\p{M}/gu;
/** What separates the words of a query. */
export const WHITESPACE = /\s+/u;

/** UTF-16 halves of a code point above U+FFFF: a cut never falls between them. */
export const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
const MARK = /^\p{M}$/u;

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
  for (let i = 0, f = 0; i < text.length; ) {
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
