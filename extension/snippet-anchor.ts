// Where a shared snippet sits in a file now. A snippet names 1-based lines and carries the code as
// it was when shared; the file has moved on since. The anchor follows the code: at the original
// lines while they still hold it, else where the same lines are now (the nearest such place), else
// "changed", at the place most like it. Pure (no `vscode` import): lines in, lines out, so it is
// unit-tested without an editor. Whitespace at line ends is ignored throughout (editors trim it).

/** The parts of a snippet the anchor reads (protocol/view.ts Snippet). */
export interface SnippetLines {
  /** 1-based, as shared. Any integer a peer sent: clamped, never trusted. */
  readonly startLine: number;
  readonly endLine: number;
  /** The code as shared: whole lines, or a selection that starts or ends inside a line. */
  readonly code: string;
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
 * Finds the snippet in `doc` (the document's lines; none is read as one empty line). `near`
 * (1-based, default the snippet's startLine): where its thread is now; of several places that hold
 * the same code, the one nearest to it wins (so a thread stays on the copy it was on, and without a
 * thread the shared lines win when they hold it). Work is linear in the document's and the code's
 * lines.
 */
export function anchorSnippet(doc: readonly string[], snippet: SnippetLines, near?: number): Anchor {
  const lines = doc.length > 0 ? doc : [''];
  const code = codeLines(snippet.code).map(trimEnd);
  const span = code.length;
  const shared = clampStart(lines.length, span, finite(snippet.startLine));
  const target = near === undefined ? shared : clampStart(lines.length, span, finite(near));
  const found = occurrences(lines, code);
  if (found.length > 0) {
    const best = nearest(found.map((i) => i + 1), target);
    return place(lines.length, span, best, best === finite(snippet.startLine) ? 'same' : 'moved');
  }
  const similar = mostAlike(lines, code, target);
  return place(lines.length, span, similar ?? shared, 'changed');
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
 * Whether the code stands at 0-based line `i`. A selection may start or end inside a line, so the
 * first code line need only end the document's line, the last only start its line (one line:
 * anywhere in it); the lines between must be equal.
 */
function holdsAt(doc: readonly string[], code: readonly string[], i: number): boolean {
  if (i < 0 || i + code.length > doc.length) return false;
  const n = code.length;
  // A blank line of code is a blank line, not a selection inside one.
  if (n === 1) return code[0] === '' ? trimEnd(doc[i]!) === '' : trimEnd(doc[i]!).includes(code[0]!);
  if (!trimEnd(doc[i]!).endsWith(code[0]!)) return false;
  if (!doc[i + n - 1]!.startsWith(code[n - 1]!)) return false;
  for (let k = 1; k < n - 1; k++) if (trimEnd(doc[i + k]!) !== code[k]) return false;
  return true;
}

/**
 * Every 0-based line where the code stands. The lines between the first and the last must match
 * exactly, so they are searched with Knuth-Morris-Pratt over line ids (linear even when every
 * line is alike), and each hit is then checked at its ends.
 */
function occurrences(doc: readonly string[], code: readonly string[]): number[] {
  if (code.length > doc.length) return [];
  if (code.length <= 2) {
    const hits: number[] = [];
    for (let i = 0; i + code.length <= doc.length; i++) if (holdsAt(doc, code, i)) hits.push(i);
    return hits;
  }
  const ids = new Map<string, number>();
  const idOf = (line: string) => {
    let id = ids.get(line);
    if (id === undefined) ids.set(line, (id = ids.size));
    return id;
  };
  const pattern = code.slice(1, -1).map(idOf);
  // Document lines the pattern does not hold get -1: they never match.
  const text = doc.map((l) => ids.get(trimEnd(l)) ?? -1);
  return kmp(text, pattern)
    .map((p) => p - 1)
    .filter((i) => holdsAt(doc, code, i));
}

/** Start indexes of every occurrence of `pattern` (non-empty) in `text`. */
function kmp(text: readonly number[], pattern: readonly number[]): number[] {
  const fail = new Array<number>(pattern.length).fill(0);
  for (let i = 1, k = 0; i < pattern.length; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1]!;
    if (pattern[i] === pattern[k]) k++;
    fail[i] = k;
  }
  const hits: number[] = [];
  for (let i = 0, k = 0; i < text.length; i++) {
    while (k > 0 && text[i] !== pattern[k]) k = fail[k - 1]!;
    if (text[i] === pattern[k]) k++;
    if (k === pattern.length) {
      hits.push(i - pattern.length + 1);
      k = fail[k - 1]!;
    }
  }
  return hits;
}

/**
 * The 1-based start where most of the code's lines still stand (compared without indentation, so
 * re-indented code counts), when at least half of its non-blank lines do; ties go to the one
 * nearest `near`. Each unchanged line votes for the start it implies; lines found all over the
 * file (a lone `}`) do not vote.
 */
function mostAlike(doc: readonly string[], code: readonly string[], near: number): number | undefined {
  const wanted = new Map<string, number[]>();
  code.forEach((line, k) => {
    const key = line.trim();
    if (key === '') return;
    const ks = wanted.get(key);
    if (ks) ks.push(k);
    else wanted.set(key, [k]);
  });
  if (wanted.size === 0) return undefined;
  const seen = new Map<string, number[]>();
  doc.forEach((line, j) => {
    const key = line.trim();
    const at = wanted.has(key) ? seen.get(key) : undefined;
    if (wanted.has(key) && !at) seen.set(key, [j]);
    else if (at && at.length <= COMMON_LINE) at.push(j);
  });
  const votes = new Map<number, number>();
  for (const [key, js] of seen) {
    if (js.length > COMMON_LINE) continue;
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

function nearest(starts: readonly number[], near: number): number {
  return starts.reduce((best, s) => (Math.abs(s - near) < Math.abs(best - near) ? s : best));
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
