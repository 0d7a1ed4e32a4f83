// `node --import tsx test/bench/anchor-bench.ts [--reps N] [--json FILE]`
//
// What placing a file's code threads costs the extension host after typing pauses
// (extension/code-threads.ts reanchor: the document's lines once, then every thread's snippet
// found in them with extension/snippet-anchor.ts), without VS Code: N threads (1, 50, 200) of
// 3-9 line snippets spread over a file of S bytes (20 KiB, 2 MiB: the largest file that gets
// threads), after an edit
//   - above: a line inserted above every snippet (VS Code has moved the threads with it: each
//     thread's line is the right one),
//   - above, closed: the same edit made on disk while the file is closed (the threads are where
//     they were: every snippet must be looked for),
//   - inside: one line of one snippet changed (that thread says "changed"),
//   - far: a line below every snippet changed.
// Rows: the whole anchoring (median of --reps), the longest single thread's share of it, and the
// splitting of the text into DocumentLines alone (once per anchoring). Not a test: nothing is enforced. `anchorBench` is what
// test/bench/run.ts calls.

import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { anchorSnippet, DocumentLines, splitLines, type SnippetLines } from '../../extension/snippet-anchor.ts';
import { report, type ReportRow } from './report.ts';
import { percentile } from './stats.ts';

export interface AnchorBenchOptions {
  /** Repetitions of each case; the median is reported (default 7). */
  reps?: number;
  /** Thread counts (default 1, 50, 200). */
  threads?: number[];
  /** File sizes in bytes (default 20 KiB and 2 MiB). */
  sizes?: number[];
  /** Progress lines go here (default stderr). */
  log?: (line: string) => void;
}

type Edit = 'above' | 'above, closed' | 'inside' | 'far';
const EDITS: Edit[] = ['above', 'above, closed', 'inside', 'far'];

/** About `bytes` of JavaScript-like code: small functions, each line unique but for braces and blank lines. */
export function sourceFile(bytes: number): string[] {
  const lines: string[] = [];
  let size = 0;
  for (let f = 0; size < bytes; f++) {
    const body = [
      `export function step${f}(input, limit) {`,
      `  const value${f} = input * ${(f * 7919) % 1000} + limit;`,
      `  if (value${f} > ${f % 97}) {`,
      `    log('step ${f} over', value${f});`,
      `    return value${f} - ${f % 13};`,
      '  }',
      `  return value${f};`,
      '}',
      '',
    ];
    for (const l of body) {
      lines.push(l);
      size += l.length + 1;
    }
  }
  return lines;
}

/** `n` snippets (3-9 lines, whole lines, and saying so as Share Selection does) spread evenly over `doc`, none in its first or last 20 lines. */
function snippetsOf(doc: readonly string[], n: number): SnippetLines[] {
  const out: SnippetLines[] = [];
  const room = doc.length - 60;
  for (let i = 0; i < n; i++) {
    const start = 20 + Math.floor(((i + 0.5) * room) / n); // 0-based
    const span = 3 + (i % 7);
    out.push({ startLine: start + 1, endLine: start + span, code: doc.slice(start, start + span).join('\n') + '\n', wholeLines: true });
  }
  return out;
}

/** The file's text after `edit`, and each thread's line then (what reanchor passes as `near`). */
function edited(doc: readonly string[], snippets: readonly SnippetLines[], edit: Edit): { text: string; near: number[] } {
  const lines = [...doc];
  let near = snippets.map((s) => s.startLine);
  if (edit === 'above' || edit === 'above, closed') {
    lines.splice(5, 0, '// a new line above every snippet');
    if (edit === 'above') near = near.map((l) => l + 1);
  } else if (edit === 'inside') {
    const s = snippets[Math.floor(snippets.length / 2)]!;
    lines[s.startLine] = `${lines[s.startLine]} // changed`;
  } else {
    lines[lines.length - 5] = '// changed far below';
  }
  return { text: lines.join('\n'), near };
}

/** One anchoring as reanchor does it: ms in all, the longest thread's ms, and how the threads ended up. */
function anchorAll(text: string, snippets: readonly SnippetLines[], near: readonly number[]): { ms: number; longestMs: number; splitMs: number; states: string } {
  const t0 = performance.now();
  const lines = new DocumentLines(splitLines(text));
  const splitMs = performance.now() - t0;
  let longestMs = 0;
  const states = new Map<string, number>();
  snippets.forEach((s, i) => {
    const t = performance.now();
    const a = anchorSnippet(lines, s, near[i]);
    longestMs = Math.max(longestMs, performance.now() - t);
    states.set(a.state, (states.get(a.state) ?? 0) + 1);
  });
  return { ms: performance.now() - t0, longestMs, splitMs, states: [...states].map(([k, v]) => `${v} ${k}`).join(', ') };
}

const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function anchorBench(opts: AnchorBenchOptions = {}): Promise<ReportRow[]> {
  const reps = opts.reps ?? 7;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const rows: ReportRow[] = [];
  for (const bytes of opts.sizes ?? [20 * 1024, 2 * 1024 * 1024]) {
    const doc = sourceFile(bytes);
    for (const n of opts.threads ?? [1, 50, 200]) {
      const snippets = snippetsOf(doc, n);
      for (const edit of EDITS) {
        const { text, near } = edited(doc, snippets, edit);
        const runs = [];
        for (let r = 0; r < reps; r++) {
          runs.push(anchorAll(text, snippets, near));
          // Let timers and I/O of the caller run between repetitions.
          await new Promise((resolve) => setImmediate(resolve));
        }
        const p50 = (xs: number[]) => r3(percentile(xs, 50) ?? Number.NaN);
        const ms = p50(runs.map((x) => x.ms));
        const where = `${n} threads, ${kib(bytes)} (${doc.length.toLocaleString('en-US')} lines), edit ${edit}`;
        log(`anchor: ${where}: ${ms} ms`);
        rows.push({ metric: `anchor: ${where}`, value: ms, unit: 'ms', note: `median of ${reps}; longest thread ${p50(runs.map((x) => x.longestMs))} ms; lines ${p50(runs.map((x) => x.splitMs))} ms; ${runs[0]!.states}`, threads: n, bytes, lines: doc.length, edit, reps });
      }
    }
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { reps: { type: 'string' }, json: { type: 'string', default: 'bench-results/anchor.json' } }, strict: true });
  const loadAtStart = loadavg()[0];
  const rows = await anchorBench({ ...(values.reps ? { reps: Number(values.reps) } : {}) });
  report('Code threads: placing every thread of one file after an edit (extension/snippet-anchor.ts, as code-threads.ts reanchor runs it)', rows, values.json!, {
    notes: [
      'ms of one anchoring: the text split into lines once, then every thread placed; all of it is extension-host time',
      `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end on ${cpus().length} CPUs`,
    ],
    meta: { loadAverage: { start: loadAtStart, end: loadavg()[0] } },
  });
}
