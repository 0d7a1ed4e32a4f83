// Where a shared snippet sits in a file now. A snippet names 1-based lines and carries the code as
// it was when shared; the file has moved on since. The anchor follows the code: at the original
// lines while they still hold it, else where the same lines are now (the nearest such place), else
// "changed", at the place most like it. Pure (no `vscode` import): lines in, lines out, so it is
// unit-tested without an editor. Whitespace at line ends is ignored throughout (editors trim it).
// A snippet of whole lines (`wholeLines`) stands only where each of its lines is a line of the
// file: an edit at its first line's start or its last line's end (`retries = 3` to `retries = 30`,
// a line commented out) is a change, where a partial selection would still be found inside it.

import { DocumentLines } from './snippet-anchor-lines.ts';

export { DocumentLines };

/** The parts of a snippet the anchor reads (protocol/view.ts Snippet). */
export interface SnippetLines {
  /** 1-based, as shared. Any integer a peer sent: clamped, never trusted. */
  readonly startLine: number;
  readonly endLine: number;
  /** The code as shared: whole lines, or a selection that starts or ends inside a line. */
  readonly code: string;
  /**
   * True: `code` is its lines whole (Share Selection said so), and the code stands only where
   * each of its lines equals the file's line. False or absent (a sender that did not say): it may
   * start or end inside a line, so its first line need only end a line and its last start one
   * (one line: anywhere in a line), and edits around a selection's ends are not changes to it.
   */
  readonly wholeLines?: boolean;
}

/**
 * Where the snippet is now, in 1-based lines of the document (`startLine` ≤ `endLine`, both
 * within the document). `same`: at the shared lines, unchanged. `moved`: unchanged, at other
 * lines. `changed`: not found as shared; placed at the lines most like it, or at the shared lines
 * clamped to the document when nothing is alike.
 */
export interface Anchor {
  state: 'same' | 'moved' | 'changed';
  startLine: number;
  endLine: number;
}

/** A snippet line that occurs more often than this in the file says nothing about where the snippet went. */
const COMMON_LINE = 20;

/** A document's text as lines, whichever line breaks it uses (`\r\n`, `\n`, `\r`). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** The snippet's code as lines: a line break at its very end ends the last line, it opens none. */
export function codeLines(code: string): string[] {
  const lines = splitLines(code);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Finds the snippet in `doc`: the document's lines (none is read as one empty line), or a
 * DocumentLines made of them once for every snippet placed in that version of the document.
 * `near` (1-based, default the snippet's startLine): where its thread is now; of several places
 * that hold the same code, the one nearest to it wins, of two as near the one higher up (so a thread
 * stays on the copy it was on, and without a thread the shared lines win when they hold it).
 * Given DocumentLines, the work is about the code's lines when the code is still at `near`, and
 * grows with how far it moved, not with the document (at worst linear in the document's and the
 * code's lines, as each index is built once per DocumentLines).
 */
export function anchorSnippet(doc: readonly string[] | DocumentLines, snippet: SnippetLines, near?: number): Anchor {
  const lines = doc instanceof DocumentLines ? doc : new DocumentLines(doc);
  const code = codeLines(snippet.code).map(trimEnd);
  const span = code.length;
  const shared = clampStart(lines.count, span, finite(snippet.startLine));
  const target = near === undefined ? shared : clampStart(lines.count, span, finite(near));
  const found = nearestPlace(lines, code, snippet.wholeLines === true, target - 1);
  if (found !== undefined) return place(lines.count, span, found + 1, found + 1 === finite(snippet.startLine) ? 'same' : 'moved');
  const similar = mostAlike(lines, code, target);
  return place(lines.count, span, similar ?? shared, 'changed');
}

function place(docLines: number, span: number, start: number, state: Anchor['state']): Anchor {
  const startLine = clampStart(docLines, span, start);
  return { state, startLine, endLine: Math.min(docLines, startLine + span - 1) };
}

/** `start` moved so that `span` lines from it fit in the document (as many as fit when it is shorter). */
function clampStart(docLines: number, span: number, start: number): number {
  return Math.max(1, Math.min(start, docLines - Math.min(span, docLines) + 1));
}

/** A peer's number as a line: non-integers and absurd values become the nearest sane line. */
function finite(n: number): number {
  return Number.isFinite(n) ? Math.max(1, Math.min(Math.trunc(n), Number.MAX_SAFE_INTEGER)) : 1;
}

function trimEnd(line: string): string {
  return line.trimEnd();
}

/**
 * Whether the code stands at 0-based line `i`. Whole lines: every line equal. Else a selection
 * may start or end inside a line, so the first code line need only end the document's line, the
 * last only start its line (one line: anywhere in it); the lines between must be equal.
 */
function holdsAt(doc: DocumentLines, code: readonly string[], wholeLines: boolean, i: number): boolean {
  if (i < 0 || i + code.length > doc.count) return false;
  const lines = doc.trimmed;
  const n = code.length;
  doc.work += n;
  if (wholeLines) {
    for (let k = 0; k < n; k++) if (lines[i + k] !== code[k]) return false;
    return true;
  }
  // A blank line of code is a blank line, not a selection inside one.
  if (n === 1) return code[0] === '' ? lines[i] === '' : lines[i]!.includes(code[0]!);
  if (!lines[i]!.endsWith(code[0]!)) return false;
  if (!lines[i + n - 1]!.startsWith(code[n - 1]!)) return false;
  for (let k = 1; k < n - 1; k++) if (lines[i + k] !== code[k]) return false;
  return true;
}

/** Places tried by the rarest whole line of the code before searching the joined text instead. */
const MAX_TRIES = 64;
/** How far (lines each way) the code is looked for around its thread before the file's lines are indexed. */
const NEAR_LINES = 512;

/**
 * The 0-based line nearest to `t` where the code stands (as holdsAt says, `wholeLines` the
 * snippet's), the lower-numbered of two as near, or undefined. Tried in turn, each only when the
 * one before did not settle it: `t` itself (the thread's place, right after most edits); the
 * joined text within NEAR_LINES of `t` (code moved by a few lines); the places implied by the
 * rarest of the code's whole lines (its middle lines, looked up by their text without
 * indentation), nearest first; the whole joined text, outwards from `t`, when that line is common
 * or the code has no middle line.
 */
function nearestPlace(doc: DocumentLines, code: readonly string[], wholeLines: boolean, t: number): number | undefined {
  if (holdsAt(doc, code, wholeLines, t)) return t;
  const n = code.length;
  if (n > doc.count) return undefined;
  const blank = n === 1 && code[0] === '';
  // A blank line of code is found through the index only (the joined text has no way to say "a whole blank line").
  const pattern = code.join('\n');
  if (!blank) {
    const close = searchOutwards(doc, pattern, wholeLines, t, NEAR_LINES);
    if (close !== 'farther') return close;
  }
  const whole = n >= 3 ? code.slice(1, -1).map((l) => l.trim()) : blank ? [''] : [];
  if (whole.length > 0) {
    const found = doc.linesOf(whole, blank ? Infinity : MAX_TRIES);
    let rarest: readonly number[] | undefined;
    let offset = 0;
    for (const [k, line] of whole.entries()) {
      const at = found.get(line);
      // A middle line found nowhere: the code is nowhere.
      if (at?.length === 0) return undefined;
      if (at && (!rarest || at.length < rarest.length)) [rarest, offset] = [at, blank ? 0 : k + 1];
    }
    // Every middle line common (more than MAX_TRIES places): the joined text is searched instead.
    const tried = rarest ? nearestOf(rarest, offset, t, (i) => holdsAt(doc, code, wholeLines, i)) : 'too many';
    if (tried !== 'too many') return tried;
  }
  const far = searchOutwards(doc, pattern, wholeLines, t, Infinity);
  return far === 'farther' ? undefined : far;
}

/**
 * Of the starts `at[j] - offset` (ascending), the nearest to `t` for which `holds` is true (the
 * lower on a tie), or undefined; 'too many' after MAX_TRIES false ones.
 */
function nearestOf(at: readonly number[], offset: number, t: number, holds: (i: number) => boolean): number | undefined | 'too many' {
  // hi: the first start at or after t (binary search); lo: the one before it.
  let hi = 0;
  for (let end = at.length; hi < end; ) {
    const mid = (hi + end) >>> 1;
    if (at[mid]! - offset < t) hi = mid + 1;
    else end = mid;
  }
  let lo = hi - 1;
  for (let misses = 0; lo >= 0 || hi < at.length; misses++) {
    if (misses >= MAX_TRIES) return 'too many';
    const below = lo >= 0 ? at[lo]! - offset : undefined;
    const above = hi < at.length ? at[hi]! - offset : undefined;
    const i = below !== undefined && (above === undefined || t - below <= above - t) ? (lo--, below) : (hi++, above!);
    if (holds(i)) return i;
  }
  return undefined;
}

/**
 * The nearest line to `t` where `pattern` (the code's lines joined; `wholeLines`: as whole lines)
 * starts, searched in rings of doubling width around `t`, or undefined when no line holds it;
 * 'farther' when none within `radius` lines does and the search stopped there.
 */
function searchOutwards(doc: DocumentLines, pattern: string, wholeLines: boolean, t: number, radius: number): number | undefined | 'farther' {
  // Ring [a, b): lines at distance a to b-1 above and below t (t itself is distance 0, "below" it).
  for (let a = 0, b = 1; t - a >= 0 || t + a < doc.count; a = b, b *= 2) {
    if (a >= radius) return 'farther';
    const up = doc.lastIn(pattern, t - b + 1, t - Math.max(a, 1) + 1, wholeLines);
    const down = doc.firstIn(pattern, t + a, t + b, wholeLines);
    if (up >= 0 && (down < 0 || t - up <= down - t)) return up;
    if (down >= 0) return down;
  }
  return undefined;
}

/**
 * The 1-based start where most of the code's lines still stand (compared without indentation, so
 * re-indented code counts), when at least half of its non-blank lines do; ties go to the one
 * nearest `near`. Each unchanged line votes for the start it implies; lines found all over the
 * file (a lone `}`) do not vote.
 */
function mostAlike(doc: DocumentLines, code: readonly string[], near: number): number | undefined {
  const wanted = new Map<string, number[]>();
  code.forEach((line, k) => {
    const key = line.trim();
    if (key === '') return;
    const ks = wanted.get(key);
    if (ks) ks.push(k);
    else wanted.set(key, [k]);
  });
  if (wanted.size === 0) return undefined;
  const seen: [string, readonly number[]][] = [];
  for (const [key, js] of doc.linesOf([...wanted.keys()], COMMON_LINE)) if (js && js.length > 0) seen.push([key, js]);
  // In the order the file has them first: of equally good starts as near, the first counted wins.
  seen.sort((x, y) => x[1][0]! - y[1][0]!);
  const votes = new Map<number, number>();
  for (const [key, js] of seen) {
    for (const k of wanted.get(key)!) for (const j of js) votes.set(j - k + 1, (votes.get(j - k + 1) ?? 0) + 1);
  }
  const needed = Math.ceil(code.filter((l) => l.trim() !== '').length / 2);
  let best: number | undefined;
  let bestVotes = 0;
  for (const [start, n] of votes) {
    if (n < needed || n < bestVotes) continue;
    if (n > bestVotes || best === undefined || Math.abs(start - near) < Math.abs(best - near)) {
      best = start;
      bestVotes = n;
    }
  }
  return best;
}

/**
 * The file as it would be with the snippet as shared at its anchor: `doc`'s lines with the
 * anchored lines replaced by the code's (what the compare view shows beside the file now).
 */
export function asShared(doc: readonly string[], anchor: Pick<Anchor, 'startLine' | 'endLine'>, code: string): string[] {
  const lines = [...doc];
  const start = Math.max(0, Math.min(anchor.startLine - 1, lines.length));
  lines.splice(start, Math.max(0, anchor.endLine - anchor.startLine + 1), ...codeLines(code));
  return lines;
}
