// extension/snippet-anchor.ts with extension/snippet-anchor-lines.ts: placing many threads in one
// big file reads the file's lines once, not once per thread (200 threads on a 2 MiB file used to
// cost seconds of extension-host time after every pause in typing). Counted, not timed: the reads
// of the document's lines (through a Proxy) and DocumentLines.work, the lines every check and
// search spans.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorSnippet, DocumentLines, type Anchor, type SnippetLines } from '../../extension/snippet-anchor.ts';

/** About 100,000 lines of small functions (unique lines, but for braces and blank lines): a file near MAX_THREAD_FILE_BYTES. */
function bigFile(functions: number): string[] {
  const lines: string[] = [];
  for (let f = 0; f < functions; f++) {
    lines.push(`function step${f}(input) {`, `  const v${f} = input * ${f % 97};`, `  if (v${f} > ${f % 13}) return v${f} - 1;`, `  return v${f};`, '}', '');
  }
  return lines;
}

/** `lines` behind a Proxy that counts each read of a line. */
function counted(lines: string[]): { lines: string[]; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(lines, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { lines: proxy, reads: () => reads };
}

/** `n` snippets of 4 lines, spread over `doc` (shared from it as it was). */
function snippets(doc: readonly string[], n: number): SnippetLines[] {
  return Array.from({ length: n }, (_, i) => {
    const start = 6 * Math.floor(((i + 0.5) * (doc.length - 12)) / n / 6) + 1; // a function's second line, 0-based
    return { startLine: start + 1, endLine: start + 4, code: doc.slice(start, start + 4).join('\n') + '\n' };
  });
}

const FUNCTIONS = 16_000; // 96,000 lines

test('200 threads in a 96,000-line file: its lines read once for all of them, not once per thread', () => {
  const doc = bigFile(FUNCTIONS);
  const shared = snippets(doc, 200);
  // A line inserted above every snippet, and one line inside the 100th changed.
  const edited = ['// new first line', ...doc];
  const inside = shared[100]!.startLine; // 1-based in doc = its second line's 0-based index in `edited`
  edited[inside] = `${edited[inside]} // changed`;
  const file = counted(edited);
  const lines = new DocumentLines(file.lines);
  // Half the threads were moved by the editor with the edit; half were not (the file changed on disk).
  const anchors: Anchor[] = shared.map((s, i) => anchorSnippet(lines, s, i % 2 === 0 ? s.startLine + 1 : s.startLine));
  assert.equal(file.reads(), edited.length, 'each line read once');
  assert.deepEqual(
    anchors.map((a) => a.state),
    shared.map((_, i) => (i === 100 ? 'changed' : 'moved')),
  );
  anchors.forEach((a, i) => assert.equal(a.startLine, shared[i]!.startLine + 1, `thread ${i}`));
  // Reading the lines, the joined text and one index: about 3 passes over the file, however many threads.
  assert.ok(lines.work < 4 * edited.length, `work ${lines.work} for ${edited.length} lines`);
});

test('the work per thread does not grow with the number of threads or the size of the file', () => {
  const cost = (functions: number, threads: number) => {
    const doc = bigFile(functions);
    const lines = new DocumentLines(['// new first line', ...doc]);
    const before = lines.work;
    for (const s of snippets(doc, threads)) anchorSnippet(lines, s, s.startLine + 1);
    return (lines.work - before) / threads;
  };
  // Each thread checks its own 4 lines at its place: the same whether 1 or 200, in 6,000 lines or 96,000.
  for (const [functions, threads] of [[1_000, 1], [1_000, 200], [FUNCTIONS, 1], [FUNCTIONS, 200]] as const) {
    assert.equal(cost(functions, threads), 4, `${threads} threads in ${functions * 6} lines`);
  }
});

test('worst case, a code of lines found everywhere that is nowhere: a few passes over the file, not one per candidate', () => {
  const same = Array.from({ length: 100_000 }, () => 'x');
  const lines = new DocumentLines(same);
  const a = anchorSnippet(lines, { startLine: 50_000, endLine: 50_003, code: 'x\nx\nx\ny' });
  assert.equal(a.state, 'changed');
  assert.ok(lines.work < 8 * same.length, `work ${lines.work} for ${same.length} lines`);
});
