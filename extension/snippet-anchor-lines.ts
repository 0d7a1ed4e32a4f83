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
  private flat?: { text: string; starts: number[] };

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

  /** How many lines are `key` once trimmed at both ends (the key of a line whatever its indentation). */
  countOf(key: string): number {
    const keys = this.lineKeys();
    const first = keys.first.get(key);
    return first === undefined ? 0 : keys.count[first]!;
  }

  /** The 0-based lines that are `key` once trimmed at both ends, ascending; undefined when there are more than `max`. */
  linesOf(key: string, max: number): readonly number[] | undefined {
    const keys = this.lineKeys();
    const first = keys.first.get(key);
    if (first === undefined) return NONE;
    if (keys.count[first]! > max) return undefined;
    const out: number[] = [];
    for (let i = first; i >= 0; i = keys.next[i]!) out.push(i);
    return out;
  }

  /**
   * The first 0-based line in [lo, hi) where `pattern` (one or more lines joined by `\n`, not
   * empty) starts, or -1. In the joined lines a `\n` of the pattern can only meet a line break,
   * so a hit is: its first line ends a line, the lines between are whole lines, its last line
   * starts a line (one line: anywhere inside a line). Linear in the window (the runtime's search).
   */
  firstIn(pattern: string, lo: number, hi: number): number {
    const w = this.window(pattern, lo, hi);
    if (!w) return -1;
    const at = w.text.indexOf(pattern);
    return at < 0 ? -1 : this.lineAt(w.from + at);
  }

  /** The last 0-based line in [lo, hi) where `pattern` starts (as firstIn), or -1. */
  lastIn(pattern: string, lo: number, hi: number): number {
    const w = this.window(pattern, lo, hi);
    if (!w) return -1;
    const { starts } = this.flatText();
    let last = -1;
    // Forward from hit to hit, a line at a time (lastIndexOf has no linear bound in V8).
    for (let at = w.text.indexOf(pattern); at >= 0; ) {
      last = this.lineAt(w.from + at);
      at = last + 1 < hi ? w.text.indexOf(pattern, starts[last + 1]! - w.from) : -1;
    }
    return last;
  }

  /** The joined text a hit starting in lines [lo, hi) lies in, and where it starts; undefined when the window is empty. */
  private window(pattern: string, lo: number, hi: number): { text: string; from: number } | undefined {
    lo = Math.max(0, lo);
    hi = Math.min(this.count, hi);
    if (lo >= hi) return undefined;
    const { text, starts } = this.flatText();
    this.work += hi - lo;
    const from = starts[lo]!;
    // A hit starts before line hi and runs on for the pattern's length at most.
    return { text: text.slice(from, Math.min(text.length, starts[hi]! - 1 + pattern.length)), from };
  }

  /** The line holding offset `at` of the joined text (a line break belongs to the line it ends). */
  private lineAt(at: number): number {
    const { starts } = this.flatText();
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The trimmed lines joined by `\n`, and where each starts (one more entry: just past the end, as if a line followed). */
  private flatText(): { text: string; starts: number[] } {
    if (this.flat) return this.flat;
    const starts = new Array<number>(this.count + 1);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      starts[i] = at;
      at += this.trimmed[i]!.length + 1;
    }
    starts[this.count] = at;
    this.work += this.count;
    this.flat = { text: this.trimmed.join('\n'), starts };
    return this.flat;
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

const NONE: readonly number[] = Object.freeze([]);
