// extension/snippet-anchor.ts: a shared snippet's thread follows its code through the file's edits:
// at its lines, moved with them, or "changed" at the most similar place; any peer input is bounded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorSnippet, asShared, codeLines, splitLines } from '../../extension/snippet-anchor.ts';

/** A file of `n` numbered lines: `line 1` … `line n`. */
const file = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
const code = 'function add(a, b) {\n  return a + b;\n}\n';
const withCode = (before: number, after = 5) => [...file(before), ...codeLines(code), ...file(after).map((l) => `after ${l}`)];

test('at its lines: the shared lines still hold the code', () => {
  assert.deepEqual(anchorSnippet(withCode(9), { startLine: 10, endLine: 12, code }), { state: 'same', startLine: 10, endLine: 12 });
});

test('moved down and up: found where the same lines are now', () => {
  assert.deepEqual(anchorSnippet(withCode(14), { startLine: 10, endLine: 12, code }), { state: 'moved', startLine: 15, endLine: 17 });
  assert.deepEqual(anchorSnippet(withCode(2), { startLine: 10, endLine: 12, code }), { state: 'moved', startLine: 3, endLine: 5 });
});

test('found twice: the place nearest to where it was wins', () => {
  const doc = [...file(3), ...codeLines(code), ...file(30), ...codeLines(code), ...file(3)];
  // Copies at 4 and 37: shared at 30 -> the second copy; shared at 10 -> the first.
  assert.equal(anchorSnippet(doc, { startLine: 30, endLine: 32, code }).startLine, 37);
  assert.equal(anchorSnippet(doc, { startLine: 10, endLine: 12, code }).startLine, 4);
  // The thread's last place counts over the shared line: it stays on the copy it was on.
  assert.equal(anchorSnippet(doc, { startLine: 10, endLine: 12, code }, 36).startLine, 37);
});

test('changed: placed where most of it still stands, and said so', () => {
  const doc = withCode(19);
  doc[20] = '  return a - b;';
  assert.deepEqual(anchorSnippet(doc, { startLine: 10, endLine: 12, code }), { state: 'changed', startLine: 20, endLine: 22 });
});

test('changed beyond recognition: the shared lines, clamped to the file', () => {
  assert.deepEqual(anchorSnippet(file(50), { startLine: 10, endLine: 12, code }), { state: 'changed', startLine: 10, endLine: 12 });
  assert.deepEqual(anchorSnippet(file(11), { startLine: 10, endLine: 12, code }), { state: 'changed', startLine: 9, endLine: 11 });
});

test('a file shorter than the snippet: anchored on the lines it has', () => {
  assert.deepEqual(anchorSnippet(['only one'], { startLine: 10, endLine: 12, code }), { state: 'changed', startLine: 1, endLine: 1 });
  assert.deepEqual(anchorSnippet([], { startLine: 3, endLine: 4, code }), { state: 'changed', startLine: 1, endLine: 1 });
});

test('CRLF in the file or in the code: the same lines', () => {
  const crlf = withCode(9).join('\r\n');
  assert.deepEqual(anchorSnippet(splitLines(crlf), { startLine: 10, endLine: 12, code }), { state: 'same', startLine: 10, endLine: 12 });
  assert.deepEqual(anchorSnippet(withCode(4), { startLine: 10, endLine: 12, code: code.replaceAll('\n', '\r\n') }), { state: 'moved', startLine: 5, endLine: 7 });
  assert.deepEqual(splitLines('a\r\nb\rc\nd'), ['a', 'b', 'c', 'd']);
});

test('whitespace at line ends is ignored, in the file and in the code', () => {
  const doc = withCode(9).map((l) => `${l}  \t`);
  assert.equal(anchorSnippet(doc, { startLine: 10, endLine: 12, code }).state, 'same');
  assert.equal(anchorSnippet(withCode(9), { startLine: 10, endLine: 12, code: code.replace('{\n', '{   \n') }).state, 'same');
  // Whitespace inside a line is code: not ignored.
  assert.equal(anchorSnippet(withCode(9), { startLine: 10, endLine: 12, code: code.replace('a + b', 'a  + b') }).state, 'changed');
});

test('a selection that starts or ends inside a line is found in those lines', () => {
  const doc = withCode(9);
  assert.deepEqual(anchorSnippet(doc, { startLine: 10, endLine: 11, code: 'add(a, b) {\n  return' }), { state: 'same', startLine: 10, endLine: 11 });
  assert.deepEqual(anchorSnippet(doc, { startLine: 2, endLine: 2, code: 'a + b' }), { state: 'moved', startLine: 11, endLine: 11 });
});

test('hostile inputs: absurd line numbers, inverted ranges, huge code, a file of one repeated line', () => {
  const doc = withCode(9);
  for (const startLine of [Number.MAX_SAFE_INTEGER, -5, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    const a = anchorSnippet(doc, { startLine, endLine: 1, code });
    assert.deepEqual([a.startLine, a.endLine], [10, 12], `startLine ${startLine}`);
    const lost = anchorSnippet(doc, { startLine, endLine: 3, code: 'nowhere\nin\nthis file' });
    assert.ok(lost.state === 'changed' && lost.startLine >= 1 && lost.endLine <= doc.length && lost.startLine <= lost.endLine, `startLine ${startLine}: ${JSON.stringify(lost)}`);
  }
  // 20,000 lines of code against 200,000 alike lines: linear work, an answer in well under a second.
  const same = Array.from({ length: 200_000 }, () => 'x');
  const big = Array.from({ length: 20_000 }, () => 'x').join('\n') + '\ny';
  const started = performance.now();
  const a = anchorSnippet(same, { startLine: 1, endLine: 20_001, code: big });
  assert.equal(a.state, 'changed');
  assert.ok(a.endLine <= same.length);
  assert.deepEqual(anchorSnippet(same, { startLine: 1, endLine: 3, code: 'x\nx\nx' }, 150_000), { state: 'moved', startLine: 150_000, endLine: 150_002 });
  assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
});

test('a code of blank lines only: its lines if blank there, else changed at them', () => {
  assert.equal(anchorSnippet(['a', '', 'b'], { startLine: 2, endLine: 2, code: '' }).state, 'same');
  assert.deepEqual(anchorSnippet(['a', 'b', 'c'], { startLine: 2, endLine: 2, code: '\n' }), { state: 'changed', startLine: 2, endLine: 2 });
});

test('as shared: the file with the anchored lines replaced by the shared code, for the compare view', () => {
  const doc = withCode(4);
  doc[6] = '  return a - b;';
  const anchor = anchorSnippet(doc, { startLine: 10, endLine: 12, code });
  assert.deepEqual(asShared(doc, anchor, code), withCode(4));
  // An anchor on fewer lines than the code (the file got shorter): the code's lines all come back.
  assert.deepEqual(asShared(['a', 'b'], { startLine: 2, endLine: 2 }, 'x\ny\n'), ['a', 'x', 'y']);
});
