// A document's lines, read once for every snippet placed in it (snippet-anchor.ts). Placing 200
// threads in a 2 MiB file used to read all of its ~100,000 lines again for each thread (seconds
// of extension-host time after every pause in typing); now each line is read once per anchoring,
// and indexes are built on first need, so that one thread's search costs about its own size and
// the distance its code moved, not the file's size. Pure (no `vscode` import).

/**
 * The lines of one version of a document, as snippet-anchor.ts compares them: whitespace at line
 * ends ignored. Made once per anchoring and shared by every snippet placed in that version; never
 * changes (a new version of the document gets a new one).
 */
export class DocumentLines {
  /** Lines in the document: at least 1 (no text is one empty line). */
  readonly count: number;
  /** Each line without the whitespace at its end. */
  readonly trimmed: readonly string[];
  /**
   * Lines read since it was made: all of them once for each index built, and the lines each check
   * or search spans (a search in the joined text counts the lines it covers). What tests bound
   * instead of wall-clock time; nothing else reads it.
   */
  work = 0;
  private keys?: LineKeys;
  /** Look-ups by key answered by reading every line so far: the index is built only after SCANS_BEFORE_INDEX (one changed thread does not pay for an index of the whole file). */
  private scans = 0;

  /** `lines`: the document split into lines (splitLines); each is read exactly once, here. */
  constructor(lines: readonly string[]) {
    const n = lines.length;
    const trimmed: string[] = new Array<string>(Math.max(1, n));
    if (n === 0) trimmed[0] = '';
    for (let i = 0; i < n; i++) trimmed[i] = lines[i]!.trimEnd();
    this.trimmed = trimmed;
    this.count = trimmed.length;
    this.work = n;
  }

  /**
   * For each of `keys`, the 0-based lines that are it once trimmed at both ends (the key of a line
   * whatever its indentation), ascending; undefined for a key of more than `max` lines.
   */
  linesOf(keys: readonly string[], max: number): Map<string, readonly number[] | undefined> {
    const out = new Map<string, number[] | undefined>();
    if (!this.keys && this.scans < SCANS_BEFORE_INDEX) {
      this.scans++;
      for (const k of keys) out.set(k, []);
      for (let i = 0; i < this.count; i++) {
        const k = this.trimmed[i]!.trim();
        const at = out.get(k);
        if (at === undefined) continue; // not wanted, or already too many
        if (at.length < max) at.push(i);
        else out.set(k, undefined);
      }
      this.work += this.count;
      return out;
    }
    const index = this.lineKeys();
    for (const k of keys) {
      const first = index.first.get(k);
      if (first !== undefined && index.count[first]! > max) {
        out.set(k, undefined);
        continue;
      }
      const at: number[] = [];
      for (let i = first ?? -1; i >= 0; i = index.next[i]!) at.push(i);
      out.set(k, at);
    }
    return out;
  }

  /**
   * The first 0-based line in [lo, hi) where `pattern` (one or more lines joined by `\n`, not
   * empty) starts, or -1. In the joined lines a `\n` of the pattern can only meet a line break,
   * so a hit is: its first line ends a line, the lines between are whole lines, its last line
   * starts a line (one line: anywhere inside a line). `wholeLines`: every line of the hit is a
   * whole line. Linear in the window (the runtime's search).
   */
  firstIn(pattern: string, lo: number, hi: number, wholeLines = false): number {
    const w = this.window(pattern, lo, hi, wholeLines);
    if (!w) return -1;
    const at = w.text.indexOf(w.pattern);
    if (at < 0) return -1;
    const line = w.lo + lineOf(w.starts(), at);
    return line < w.hi ? line : -1;
  }

  /** The last 0-based line in [lo, hi) where `pattern` starts (as firstIn), or -1. */
  lastIn(pattern: string, lo: number, hi: number, wholeLines = false): number {
    const w = this.window(pattern, lo, hi, wholeLines);
    if (!w) return -1;
    let last = -1;
    // Forward from hit to hit, a line at a time (lastIndexOf has no linear bound in V8).
    for (let at = w.text.indexOf(w.pattern); at >= 0; ) {
      const starts = w.starts();
      const k = lineOf(starts, at);
      if (w.lo + k >= w.hi) break;
      last = w.lo + k;
      at = k + 1 < starts.length ? w.text.indexOf(w.pattern, starts[k + 1]!) : -1;
    }
    return last;
  }

  /**
   * Lines [lo, hi) joined by `\n`, with the lines after them a hit starting in them may run into;
   * `starts()`: where each of the joined lines starts in that text (worked out on first need), and
   * the pattern to look for there. `wholeLines`: the text and the pattern are each wrapped in `\n`,
   * so that a hit begins and ends at line breaks; a hit's offset is then the start of its first
   * line in the unwrapped text, so `starts()` holds for both.
   */
  private window(pattern: string, lo: number, hi: number, wholeLines: boolean): { text: string; pattern: string; lo: number; hi: number; starts: () => number[] } | undefined {
    lo = Math.max(0, lo);
    hi = Math.min(this.count, hi);
    if (lo >= hi) return undefined;
    let breaks = 0;
    for (let i = pattern.indexOf('\n'); i >= 0; i = pattern.indexOf('\n', i + 1)) breaks++;
    const lines = this.trimmed.slice(lo, Math.min(this.count, hi + breaks));
    this.work += lines.length;
    let starts: number[] | undefined;
    const joined = lines.join('\n');
    return {
      text: wholeLines ? `\n${joined}\n` : joined,
      pattern: wholeLines ? `\n${pattern}\n` : pattern,
      lo,
      hi,
      starts: () => {
        if (starts) return starts;
        starts = new Array<number>(lines.length);
        for (let i = 0, at = 0; i < lines.length; at += lines[i]!.length + 1, i++) starts[i] = at;
        return starts;
      },
    };
  }

  /** Built on first need, once: one Map entry per distinct key, the lines of a key chained through arrays (no array per key). */
  private lineKeys(): LineKeys {
    if (this.keys) return this.keys;
    const n = this.count;
    const first = new Map<string, number>();
    const next = new Int32Array(n);
    const count = new Int32Array(n);
    // Backwards, so that each key's chain runs in ascending order and its count ends at its first line.
    for (let i = n - 1; i >= 0; i--) {
      const key = this.trimmed[i]!.trim();
      const after = first.get(key);
      next[i] = after ?? -1;
      count[i] = after === undefined ? 1 : count[after]! + 1;
      first.set(key, i);
    }
    this.work += n;
    this.keys = { first, next, count };
    return this.keys;
  }
}

/** Lines by key (trimmed at both ends): the first line of each key, the next line of the same key after each line (-1: none), and at a key's first line how many lines have it. */
interface LineKeys {
  first: Map<string, number>;
  next: Int32Array;
  count: Int32Array;
}

/** Look-ups by key that read every line before the file's lines are indexed by key instead. */
const SCANS_BEFORE_INDEX = 2;

/** The index in `starts` (ascending, starting at 0) of the line holding offset `at`. */
function lineOf(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
