// extension/snippet-anchor.ts with a snippet of whole lines (`wholeLines`, what Share Selection
// sends for a selection from column 0 to a line's end): an edit that keeps the first line's end or
// the last line's start is a change (attacker pass: `retries = 3` edited to `retries = 30`, a line
// commented out, text appended to the last line all said "unchanged", because whole lines were
// matched as if they could be a selection starting or ending inside a line). A selection that does
// start or end inside a line (no `wholeLines`) is still found inside its lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorSnippet, codeLines, DocumentLines, splitLines } from '../../extension/snippet-anchor.ts';

/** A file of `n` numbered lines: `line 1` … `line n`. */
const file = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
const code = 'function add(a, b) {\n  return a + b;\n}\n';
/** `code` at line 10 of a 20-line file. */
const withCode = () => [...file(9), ...codeLines(code), ...file(8).map((l) => `after ${l}`)];
const retries = (edit: (line: string) => string) => [...file(9), edit('  retries = 3'), ...file(5)];
const oneLine = { startLine: 10, endLine: 10, code: '  retries = 3' };

test('one whole line edited at its end (retries = 3 to retries = 30): changed, not unchanged', () => {
  const doc = retries((l) => `${l}0`);
  assert.deepEqual(anchorSnippet(doc, { ...oneLine, wholeLines: true }), { state: 'changed', startLine: 10, endLine: 10 });
  // Lines inserted above too: the edited line is not the shared one moved.
  assert.equal(anchorSnippet(['a', 'b', ...doc], { ...oneLine, wholeLines: true }).state, 'changed');
  assert.equal(anchorSnippet(['a', 'b', ...doc], { ...oneLine, wholeLines: true }, 12).state, 'changed');
  // A selection of `retries = 3` inside the line says nothing of what follows it: found, as before.
  assert.equal(anchorSnippet(doc, oneLine).state, 'same');
  assert.equal(anchorSnippet(doc, { ...oneLine, wholeLines: false }).state, 'same');
});

test('one whole line commented out (`// ` put before it): changed', () => {
  const doc = retries((l) => `// ${l}`);
  assert.deepEqual(anchorSnippet(doc, { ...oneLine, wholeLines: true }), { state: 'changed', startLine: 10, endLine: 10 });
  const commented = withCode().map((l, i) => (i >= 9 && i <= 11 ? `// ${l}` : l));
  assert.equal(anchorSnippet(commented, { startLine: 10, endLine: 12, code, wholeLines: true }).state, 'changed');
});

test('whole lines with text appended to the last line, or put before the first: changed', () => {
  const appended = withCode();
  appended[11] = '} // end of add';
  assert.deepEqual(anchorSnippet(appended, { startLine: 10, endLine: 12, code, wholeLines: true }), { state: 'changed', startLine: 10, endLine: 12 });
  const prefixed = withCode();
  prefixed[9] = `export ${prefixed[9]}`;
  assert.deepEqual(anchorSnippet(prefixed, { startLine: 10, endLine: 12, code, wholeLines: true }), { state: 'changed', startLine: 10, endLine: 12 });
  // Two lines (no middle line: found through the joined text only).
  const two = { startLine: 10, endLine: 11, code: 'function add(a, b) {\n  return a + b;', wholeLines: true };
  const grown = withCode();
  grown[10] = '  return a + b + 1;';
  assert.equal(anchorSnippet(grown, two).state, 'changed');
  // The same edits to a selection that may start or end inside those lines: found, as before.
  assert.equal(anchorSnippet(appended, { startLine: 10, endLine: 12, code }).state, 'same');
  assert.equal(anchorSnippet(prefixed, { startLine: 10, endLine: 12, code }).state, 'same');
});

test('whole lines unchanged: same, moved, CRLF and whitespace at line ends as before', () => {
  assert.deepEqual(anchorSnippet(withCode(), { startLine: 10, endLine: 12, code, wholeLines: true }), { state: 'same', startLine: 10, endLine: 12 });
  assert.deepEqual(anchorSnippet(['x', ...withCode()], { startLine: 10, endLine: 12, code, wholeLines: true }), { state: 'moved', startLine: 11, endLine: 13 });
  assert.deepEqual(anchorSnippet(withCode().slice(4), { startLine: 10, endLine: 12, code, wholeLines: true }), { state: 'moved', startLine: 6, endLine: 8 });
  const crlf = splitLines(withCode().map((l) => `${l} \t`).join('\r\n'));
  assert.equal(anchorSnippet(crlf, { startLine: 10, endLine: 12, code: code.replaceAll('\n', '\r\n'), wholeLines: true }).state, 'same');
  assert.deepEqual(anchorSnippet(retries((l) => l), { ...oneLine, wholeLines: true }), { state: 'same', startLine: 10, endLine: 10 });
  assert.deepEqual(anchorSnippet(['a', '', 'b'], { startLine: 2, endLine: 2, code: '', wholeLines: true }), { state: 'same', startLine: 2, endLine: 2 });
  // Indentation is part of a whole line.
  assert.equal(anchorSnippet(withCode().map((l) => `  ${l}`), { startLine: 10, endLine: 12, code, wholeLines: true }).state, 'changed');
});

test('moved whole lines: a copy inside longer lines nearer the thread is passed over for the real one', () => {
  // The decoy holds the code inside longer lines right at the shared place; the code itself moved
  // 1,000 lines down (beyond the near search: found through its middle line's index).
  const decoy = ['export function add(a, b) {', '  return a + b;', '} // old'];
  const doc = [...file(9), ...decoy, ...file(1_000), ...codeLines(code), ...file(5)];
  const snippet = { startLine: 10, endLine: 12, code, wholeLines: true };
  assert.deepEqual(anchorSnippet(doc, snippet), { state: 'moved', startLine: 1013, endLine: 1015 });
  // Without the flag the decoy is taken for it, as a selection inside those lines would be.
  assert.equal(anchorSnippet(doc, { ...snippet, wholeLines: undefined }).state, 'same');
  // A middle line found all over the file: the joined text is searched, whole lines only.
  const braces = { startLine: 10, endLine: 12, code: 'open()\n}\nclose()', wholeLines: true };
  const common = [...file(9), 'x.open()', '}', 'close() // decoy', ...Array.from({ length: 600 }, () => '}'), 'open()', '}', 'close()'];
  assert.deepEqual(anchorSnippet(common, braces), { state: 'moved', startLine: 613, endLine: 615 });
  // One line moved a little (the near search of the joined text), past a longer line holding it.
  assert.deepEqual(anchorSnippet([...file(9), '  retries = 30', 'x', '  retries = 3'], { ...oneLine, wholeLines: true }), { state: 'moved', startLine: 12, endLine: 12 });
});

test('whole lines at their place cost their own lines, as a selection does', () => {
  const doc = new DocumentLines(withCode());
  const before = doc.work;
  anchorSnippet(doc, { startLine: 10, endLine: 12, code, wholeLines: true });
  assert.equal(doc.work - before, 3);
});

test('whole lines are found exactly where a line-by-line comparison finds them, the nearest first (seeded random files)', () => {
  let seed = 1;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  // Few distinct lines, some inside others ('a' in 'a b'), some differing only at their ends.
  const alphabet = ['a', 'a b', 'b', '', ' a', 'a  ', 'ab', 'b a', 'u1', 'u2', 'u3', 'u4'];
  // Small files (the checks at the place and near it) and long ones (the index and the far search).
  for (const [runs, longest] of [[3000, 40], [200, 3000]] as const) {
    for (let run = 0; run < runs; run++) {
      const count = 1 + rnd(longest);
      const doc = Array.from({ length: count }, () => alphabet[rnd(alphabet.length)]!);
      const n = 1 + rnd(4);
      const lines = Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]!);
      const startLine = 1 + rnd(count + 3);
      const near = rnd(3) === 0 ? undefined : 1 + rnd(count + 3);
      const got = anchorSnippet(doc, { startLine, endLine: startLine + n - 1, code: lines.join('\n'), wholeLines: true }, near);
      // By hand: every place where each line is equal (whitespace at line ends aside), the nearest to the thread, the higher of two.
      const clamp = (s: number) => Math.max(1, Math.min(s, count - Math.min(n, count) + 1)) - 1;
      const t = clamp(near ?? startLine);
      let best: number | undefined;
      for (let i = 0; i + n <= count; i++) {
        if (!lines.every((l, k) => doc[i + k]!.trimEnd() === l.trimEnd())) continue;
        if (best === undefined || Math.abs(i - t) < Math.abs(best - t)) best = i;
      }
      const state = best === undefined ? 'changed' : best + 1 === startLine ? 'same' : 'moved';
      const where = JSON.stringify({ doc: count > 40 ? `${count} lines` : doc, lines, startLine, near });
      assert.equal(got.state, state, where);
      if (best !== undefined) assert.equal(got.startLine, best + 1, where);
    }
  }
});
