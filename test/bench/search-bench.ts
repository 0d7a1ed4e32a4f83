// `node --import tsx test/bench/search-bench.ts [--messages 100000] [--json FILE]`
//
// Search over the engine's stored history (peer/search-index.ts), on a real sealed store
// (peer/store-db.ts + peer/history.ts, a temp folder) filled with realistic chat text
// (test/bench/chat-text.ts) in 20 conversations: 5 rooms of 25 members and 15 direct ones.
//   1. cold: a new index loads every message from the store (pages of 500, each row opened) and
//      builds, then answers one search; and warm() (in slices) with the event loop's longest stall
//   2. the index's memory (heap after a GC, with it against without it) and characters held
//   3. warm searches: a rare word, a common word, two words, an accent-folded word, one
//      conversation, 500 results, no match (median, p95, p99, max over repetitions)
//   4. what keeping it current costs: put of a new message, an edit, a remove
//   5. put into a full index (every put evicts: the fair share picks the largest conversation's
//      largest sender), a member flooding one room with 4 KiB messages and an honest one between
//   6. long messages (1,000 pasted logs of 8,000-60,000 characters added): searches with messages
//      indexed whole against the old bound (their first 4,096 characters)
// Not a test: the target (warm search < 1 s at 100,000) is printed, never enforced.
// `searchBench` is what test/bench/run.ts calls.

import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBytes } from '../../protocol/crypto.ts';
import { dmRoom } from '../../protocol/peer.ts';
import { History } from '../../peer/history.ts';
import { MessageActions } from '../../peer/message-actions.ts';
import { SearchIndex, type IndexedMessage } from '../../peer/search-index.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { ABSENT, PLANTED, chatText } from './chat-text.ts';
import { report, type ReportRow } from './report.ts';
import { percentile } from './stats.ts';

export interface SearchBenchOptions {
  /** Stored messages (default 100,000). */
  messages?: number;
  /** Repetitions of each warm search (default 50). */
  reps?: number;
  /** Cold builds measured (default 3). */
  coldReps?: number;
  log?: (line: string) => void;
}

export const SEARCH_TARGET_MS = 1_000;
const ROOMS = 5;
const ROOM_MEMBERS = 25;
const DIRECT = 15;
const MEMBERS = Array.from({ length: ROOM_MEMBERS }, (_, i) => `member${String(i + 1).padStart(2, '0')}`);
const ROOM_IDS = Array.from({ length: ROOMS }, (_, i) => `${'R'.repeat(42)}${i}`);
const DM_IDS = Array.from({ length: DIRECT }, (_, i) => dmRoom(MEMBERS[0]!, MEMBERS[i + 1]!));
export const SEARCH_CONVERSATIONS = `${ROOMS + DIRECT} conversations (${ROOMS} rooms of ${ROOM_MEMBERS} members, ${DIRECT} direct)`;

/** Where message i goes: 80% to the rooms, 20% to the direct conversations. */
function placed(i: number): { conversation: string; from: string } {
  if (i % 5 !== 4) return { conversation: ROOM_IDS[i % ROOMS]!, from: MEMBERS[(i * 7) % ROOM_MEMBERS]! };
  const d = (i >> 2) % DIRECT;
  return { conversation: DM_IDS[d]!, from: i % 2 ? MEMBERS[0]! : MEMBERS[d + 1]! };
}

function fill(db: StoreDb, n: number, log: (line: string) => void): number {
  const history = new History(db);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    db.transaction(() => {
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        const { conversation, from } = placed(j);
        history.add({ conversation, id: `m${j}`, from, session: `S-${from}`, seq: j, sentAt: 1_700_000_000_000 + j * 30_000, text: chatText(j, n) });
      }
    });
    if ((i / 1000) % 20 === 19) log(`  stored ${i + 1000}/${n}`);
  }
  db.flush();
  return performance.now() - t0;
}

/** What the engine's loader does: every conversation's messages, a page of 500 at a time, opened from the sealed store. */
function loader(history: History): () => Iterable<IndexedMessage> {
  return function* () {
    for (const conversation of [...ROOM_IDS, ...DM_IDS]) {
      let before: string | undefined;
      for (;;) {
        const page = history.page(conversation, { limit: 500, ...(before === undefined ? {} : { before }) });
        for (const m of page.messages) yield { conversation, id: m.id, from: m.from, sentAt: m.sentAt, text: m.text };
        if (!page.more || page.messages.length === 0) break;
        before = page.messages[0]!.id;
      }
    }
  };
}

function gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const ms = (x: number) => Math.round(x * 1000) / 1000;
const stats = (xs: number[]) => ({ p50: ms(percentile(xs, 50)), p95: ms(percentile(xs, 95)), p99: ms(percentile(xs, 99)), max: ms(percentile(xs, 100)) });

/** Runs the benchmark; returns its rows (the table and JSON are the caller's). */
export async function searchBench(opts: SearchBenchOptions = {}): Promise<ReportRow[]> {
  const o: Required<SearchBenchOptions> = { messages: 100_000, reps: 50, coldReps: 3, log: (l) => process.stderr.write(`${l}\n`), ...opts };
  const n = o.messages;
  const where = `${n.toLocaleString('en-US')} messages, ${SEARCH_CONVERSATIONS}`;
  const dir = await mkdtemp(join(tmpdir(), 'p2p-search-bench-'));
  const rows: ReportRow[] = [];
  const collect = gc();
  try {
    const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
    try {
      o.log(`search bench: storing ${where}`);
      const fillMs = fill(db, n, o.log);
      const history = new History(db);
      const load = loader(history);
      rows.push({ metric: `store ${n} messages (sealed rows)`, value: Math.round(n / (fillMs / 1000)), unit: 'messages/s', note: `store.db ${(statSync(join(dir, 'store.db')).size / 1024 / 1024).toFixed(1)} MiB; ${SEARCH_CONVERSATIONS}` });

      // 1. cold: load + build + the first search, synchronously (what a search before warm() costs).
      o.log('search bench: cold builds');
      const cold: number[] = [];
      const loadOnly: number[] = [];
      for (let r = 0; r < o.coldReps; r++) {
        let t0 = performance.now();
        let count = 0;
        for (const _ of load()) count++;
        loadOnly.push(performance.now() - t0);
        if (count !== n) throw new Error(`the loader yielded ${count} of ${n} messages`);
        t0 = performance.now();
        const idx = new SearchIndex(load);
        const hits = idx.search(PLANTED.word, { limit: 50 });
        cold.push(performance.now() - t0);
        if (hits.length !== Math.min(PLANTED.count, n)) throw new Error(`cold search found ${hits.length} of the ${PLANTED.count} planted "${PLANTED.word}"`);
      }
      rows.push(
        { metric: `cold: load + build + first search, ${n}`, value: ms(percentile(cold, 50)), unit: 'ms', note: `median of ${o.coldReps}; worst ${ms(Math.max(...cold))} ms; of which opening every row from the store ${ms(percentile(loadOnly, 50))} ms`, samples: cold, loadSamples: loadOnly },
      );

      // The engine's own loader (every shown message by rowid in batches, edits and deletes applied).
      {
        const t0 = performance.now();
        const engineIndex: SearchIndex = new SearchIndex(() => engineActions.indexable());
        const engineActions = new MessageActions(history, engineIndex, db);
        const hits = engineIndex.search(PLANTED.word, { limit: 50 });
        const took = performance.now() - t0;
        if (hits.length !== Math.min(PLANTED.count, n) || engineIndex.coverage().messages !== n) throw new Error(`the engine's loader gave ${engineIndex.coverage().messages} messages, ${hits.length} hits`);
        rows.push({ metric: `cold with the engine's loader, ${n}`, value: ms(took), unit: 'ms', note: 'MessageActions.indexable (History.shownAsEdited, batches of rows by rowid and their author edits): what a search before warm() costs in the peer' });
        const warmed: SearchIndex = new SearchIndex(() => warmedActions.indexable());
        const warmedActions = new MessageActions(history, warmed, db);
        const loop = monitorEventLoopDelay({ resolution: 1 });
        loop.enable();
        const t1 = performance.now();
        await warmed.warm();
        const warmMs = performance.now() - t1;
        loop.disable();
        const c = warmed.coverage();
        rows.push({ metric: `warm() with the engine's loader, ${n}`, value: ms(warmMs), unit: 'ms', note: `${c.slices} slices, longest ${ms(c.longestSliceMs)} ms; event loop's longest stall ${ms(loop.max / 1e6)} ms (what the peer does at sign-in)`, slices: c.slices, longestSliceMs: c.longestSliceMs, loopMaxMs: loop.max / 1e6 });
      }

      // warm(): in slices; the event loop's longest stall meanwhile is what a UI would feel.
      const before = (collect(), process.memoryUsage().heapUsed);
      const idx = new SearchIndex(load);
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      let t0 = performance.now();
      await idx.warm();
      const warmMs = performance.now() - t0;
      loop.disable();
      const c = idx.coverage();
      rows.push({ metric: `warm(): build in slices, ${n}`, value: ms(warmMs), unit: 'ms', note: `${c.slices} slices, longest ${ms(c.longestSliceMs)} ms; event loop's longest stall ${ms(loop.max / 1e6)} ms`, slices: c.slices, longestSliceMs: c.longestSliceMs, loopMaxMs: loop.max / 1e6 });
      collect();
      const heapMiB = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
      rows.push({ metric: `index memory, ${n} messages`, value: Math.round(heapMiB * 10) / 10, unit: 'MiB', note: `heap with the index minus without, after a GC; ${(c.chars / 1e6).toFixed(1)} M characters charged (text, folded, ENTRY_CHARS a message); ${Math.round((heapMiB * 1024 * 1024) / Math.max(1, c.messages))} bytes/message`, chars: c.chars, messages: c.messages });

      // 3. warm searches.
      o.log('search bench: warm searches');
      const queries: { label: string; query: string; conversation?: string; limit: number; expect?: (k: number) => boolean }[] = [
        { label: `rare word ("${PLANTED.word}", ${PLANTED.count} hits)`, query: PLANTED.word, limit: 50, expect: (k) => k === Math.min(PLANTED.count, n) },
        { label: 'common word ("the", first 50)', query: 'the', limit: 50, expect: (k) => k === 50 },
        { label: 'common word, 500 results', query: 'the', limit: 500, expect: (k) => k === 500 },
        { label: 'two words ("deploy friday")', query: 'deploy friday', limit: 50 },
        { label: 'accent-folded ("RESUME" finds "résumé")', query: 'RESUME', limit: 50, expect: (k) => k > 0 },
        { label: 'one direct conversation ("build")', query: 'build', conversation: DM_IDS[DIRECT - 1], limit: 50 },
        { label: `no match ("${ABSENT}")`, query: ABSENT, limit: 50, expect: (k) => k === 0 },
      ];
      let worstP99 = 0;
      for (const q of queries) {
        const times: number[] = [];
        let found = 0;
        for (let r = 0; r < o.reps; r++) {
          t0 = performance.now();
          found = idx.search(q.query, { limit: q.limit, ...(q.conversation ? { conversation: q.conversation } : {}) }).length;
          times.push(performance.now() - t0);
        }
        if (q.expect && !q.expect(found)) throw new Error(`search ${q.label} found ${found}`);
        const s = stats(times);
        worstP99 = Math.max(worstP99, s.p99);
        rows.push({ metric: `search: ${q.label}`, value: s.p50, unit: 'ms', note: `median of ${o.reps}; p95 ${s.p95}, p99 ${s.p99}, max ${s.max} ms; ${found} results`, ...s, results: found, samples: times.map(ms) });
      }
      rows.push({ metric: `slowest warm search p99, ${n}`, value: worstP99, unit: 'ms', note: `target < ${SEARCH_TARGET_MS} ms: ${worstP99 < SEARCH_TARGET_MS ? 'met' : 'MISSED'}` });

      // 3b. opening a result (Enter): the view's window around it and the next newer page, read from
      // the sealed store (History.page `around` and `after`), however far back the hit is.
      {
        const hits = idx.search(PLANTED.word, { limit: 50 });
        const around: number[] = [];
        const after: number[] = [];
        for (let r = 0; r < o.reps; r++) {
          const hit = hits[r % hits.length]!;
          t0 = performance.now();
          const page = history.page(hit.conversation, { around: hit.id, limit: 50 });
          around.push(performance.now() - t0);
          if (!page.messages.some((m) => m.id === hit.id)) throw new Error(`the window around ${hit.id} does not hold it`);
          t0 = performance.now();
          history.page(hit.conversation, { after: page.messages.at(-1)!.id, limit: 50 });
          after.push(performance.now() - t0);
        }
        for (const [label, xs] of [['open a result: the window around it (50 messages)', around], ['then the next newer page (50)', after]] as const) {
          const s = stats(xs);
          rows.push({ metric: `${label}, ${n}`, value: s.p50, unit: 'ms', note: `median of ${o.reps} hits spread over the history; p95 ${s.p95}, p99 ${s.p99}, max ${s.max} ms (rows opened and decrypted)`, ...s, samples: xs.map(ms) });
        }
      }

      // 4. keeping the index current.
      const puts: number[] = [];
      const edits: number[] = [];
      const removes: number[] = [];
      for (let r = 0; r < 1_000; r++) {
        const m = { conversation: ROOM_IDS[0]!, id: `new${r}`, from: MEMBERS[1]!, sentAt: 1_800_000_000_000 + r, text: chatText(n + r, n) };
        t0 = performance.now();
        idx.put(m);
        puts.push(performance.now() - t0);
        t0 = performance.now();
        idx.put({ ...m, text: `${m.text} (edited)` });
        edits.push(performance.now() - t0);
      }
      for (let r = 0; r < 1_000; r++) {
        const id = `m${Math.floor((r * n) / 1_000)}`;
        t0 = performance.now();
        idx.remove(placed(Math.floor((r * n) / 1_000)).conversation, id);
        removes.push(performance.now() - t0);
      }
      for (const [what, xs] of [['put a new message', puts], ['put an edit (replace)', edits], ['remove (a delete, anywhere in history)', removes]] as const) {
        const s = stats(xs as number[]);
        rows.push({ metric: `index: ${what}`, value: s.p50, unit: 'ms', note: `median of 1,000; p99 ${s.p99}, max ${s.max} ms` });
      }

      // 5. a full index (budget 90% of what the store needs): each put evicts, the fair share picks
      // what (the largest conversation, in it the largest sender). One member floods a room with
      // 4 KiB messages, an honest member of it writes between them.
      {
        const full = new SearchIndex(load, { maxTotalChars: Math.floor(c.chars * 0.9) });
        full.search(PLANTED.word, { limit: 1 });
        const flood: number[] = [];
        const honest: number[] = [];
        const filler = 'x'.repeat(4_000);
        for (let r = 0; r < 1_000; r++) {
          const sentAt = 1_900_000_000_000 + 2 * r;
          t0 = performance.now();
          full.put({ conversation: ROOM_IDS[1]!, id: `flood${r}`, from: MEMBERS[2]!, sentAt, text: `${chatText(r, n)} ${filler}` });
          flood.push(performance.now() - t0);
          t0 = performance.now();
          full.put({ conversation: ROOM_IDS[1]!, id: `honest${r}`, from: MEMBERS[3]!, sentAt: sentAt + 1, text: chatText(n + r, n) });
          honest.push(performance.now() - t0);
        }
        const fc = full.coverage();
        for (const [what, xs] of [['a 4 KiB flood message', flood], ['an honest member between them', honest]] as const) {
          const s = stats(xs as number[]);
          rows.push({ metric: `index full: put ${what}`, value: s.p50, unit: 'ms', note: `median of 1,000; p99 ${s.p99}, max ${s.max} ms; ${fc.evicted} evicted in all` });
        }
      }

      // 6. long messages (pasted logs, long snippets) indexed whole against the old bound of 4,096
      // characters: the same history plus 1,000 logs of 8,000-60,000 characters (one in ten
      // accented), whose last line holds a word found nowhere else.
      {
        const logs: IndexedMessage[] = Array.from({ length: 1_000 }, (_, r) => {
          const line = r % 10 === 0 ? 'résumé du travail: café crème déjà vu ' : 'INFO worker heartbeat ok the queue drained ';
          const text = `${line.repeat(Math.ceil((8_000 + ((r * 7_919) % 52_000)) / line.length))}\nFATAL lastlineword${r % 7} in reconciler`;
          return { conversation: ROOM_IDS[r % ROOMS]!, id: `log${r}`, from: MEMBERS[(r * 3) % ROOM_MEMBERS]!, sentAt: 1_700_000_000_000 + ((r * n) / 1_000) * 30_000 + 1, text };
        });
        const withLogs = () => [...load(), ...logs];
        for (const [label, options] of [['first 4,096 characters (the old bound)', { maxCharsPerMessage: 4_096 }], ['whole messages', {}]] as const) {
          const long = new SearchIndex(withLogs, options);
          t0 = performance.now();
          long.search(PLANTED.word, { limit: 1 });
          const buildMs = performance.now() - t0;
          const lc = long.coverage();
          for (const q of [
            { what: 'the last line of a log ("lastlineword3")', query: 'lastlineword3', limit: 50 },
            { what: '500 results in logs ("FATAL reconciler")', query: 'fatal reconciler', limit: 500 },
            { what: 'accented, 500 results ("deja")', query: 'deja', limit: 500 },
            { what: `no match ("${ABSENT}")`, query: ABSENT, limit: 50 },
          ]) {
            const times: number[] = [];
            let found = 0;
            for (let r = 0; r < o.reps; r++) {
              t0 = performance.now();
              found = long.search(q.query, { limit: q.limit }).length;
              times.push(performance.now() - t0);
            }
            const st = stats(times);
            rows.push({ metric: `long messages, ${label}: ${q.what}`, value: st.p50, unit: 'ms', note: `median of ${o.reps}; p95 ${st.p95}, p99 ${st.p99}, max ${st.max} ms; ${found} results; ${n} + 1,000 logs, ${(lc.chars / 1e6).toFixed(1)} M characters charged, built in ${ms(buildMs)} ms`, ...st, results: found });
          }
        }
      }
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string', default: 'bench-results/search.json' } }, strict: true });
  const loadAtStart = loadavg()[0];
  const rows = await searchBench({ ...(values.messages ? { messages: Number(values.messages) } : {}), ...(values.reps ? { reps: Number(values.reps) } : {}) });
  report('Search over stored history (peer/search-index.ts, in memory; store sealed at rest)', rows, values.json!, {
    notes: [
      'the index lives only in this process: built from the sealed store (every row opened with AES-GCM), never written to disk',
      `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end on ${cpus().length} CPUs: p99s on a shared machine are upper bounds`,
    ],
    meta: { loadAverage: { start: loadAtStart, end: loadavg()[0] } },
  });
}
