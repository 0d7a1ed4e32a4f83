// `node --import tsx test/bench/history-bench.ts [--messages 100000] [--json FILE]`
//
// The engine's message store (peer/store-db.ts, peer/history.ts: SQLite in WebAssembly, sealed
// rows) on real files in a temp folder:
//   1. append cost: a paced single message (one add, one commit, one per turn) and a burst of 1,000
//      in one turn's transaction, per message; with durability 'process' (default: survives
//      SIGKILL) and 'power' (an fsync per commit)
//   2. the newest page (50) of a 100,000-message conversation, 50 reads (target < 50 ms), and a
//      page from the middle of it
//   3. opening that store
//   4. RSS and heap of a fresh process that opened a 100,000-message store and read its newest
//      page, against one with 1,000 (must not grow with history size)
// Not a test: targets are printed next to the numbers, never enforced. `historyBench` is what
// test/bench/run.ts calls.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from '../../protocol/crypto.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { StoreDb, type StoreDbOptions } from '../../peer/store-db.ts';
import { report, type ReportRow } from './report.ts';
import { percentile } from './stats.ts';

export interface HistoryBenchOptions {
  /** Messages in the big conversation (default 100,000). */
  messages?: number;
  /** Messages in the small store the memory is compared with (default 1,000). */
  small?: number;
  /** Paced single appends measured per durability (default 200). */
  paced?: number;
  /** Messages in one burst (default 1,000); bursts measured: 5. */
  burst?: number;
  /** Newest-page reads (default 50). */
  reads?: number;
  /** Progress lines go here (default stderr). */
  log?: (line: string) => void;
}

const ROOM = 'H'.repeat(43);
const WORDS = ['the', 'build', 'is', 'green', 'again', 'after', 'we', 'fixed', 'flaky', 'test', 'review', 'merge', 'ship', 'today', 'lunch'];

function message(i: number): StoredMessage {
  let text = `#${i}`;
  // ~120 bytes of words, different per message (so pages compress like real text, not zeros).
  for (let w = 0; text.length < 120; w++) text += ` ${WORDS[(i * 7 + w * 13) % WORDS.length]}`;
  return { conversation: ROOM, id: `msg-${i}`, from: ['alice', 'bob', 'carol'][i % 3]!, session: `S${Math.floor(i / 100)}`, seq: i % 100, sentAt: 1_700_000_000_000 + i * 1000, text };
}

const ms = (x: number) => Math.round(x * 1000) / 1000;

/** Per-message append cost: paced (one add + commit per turn) and bursts (N adds, one commit). */
async function appendCosts(dir: string, durability: NonNullable<StoreDbOptions['durability']>, o: Required<HistoryBenchOptions>): Promise<ReportRow[]> {
  const db = new StoreDb(join(dir, `append-${durability}.db`), randomBytes(32), { durability });
  const history = new History(db);
  try {
    const paced: number[] = [];
    for (let i = 0; i < o.paced; i++) {
      const t0 = performance.now();
      history.add(message(i));
      db.flush();
      paced.push(performance.now() - t0);
      await new Promise((r) => setImmediate(r)); // one message per turn, as a quiet room sends
    }
    const perMessage: number[] = [];
    for (let b = 0; b < 5; b++) {
      const t0 = performance.now();
      for (let i = 0; i < o.burst; i++) history.add(message(o.paced + b * o.burst + i));
      db.flush();
      perMessage.push((performance.now() - t0) / o.burst);
    }
    return [
      { metric: `append, paced single (${durability})`, value: ms(percentile(paced, 50)), unit: 'ms/message', note: `median; p99 ${ms(percentile(paced, 99))} ms; ${o.paced} messages, one commit each`, p99: percentile(paced, 99) },
      { metric: `append, burst of ${o.burst} (${durability})`, value: ms(percentile(perMessage, 50)), unit: 'ms/message', note: `median of 5 bursts, one commit each; worst ${ms(Math.max(...perMessage))} ms/message`, samples: perMessage },
    ];
  } finally {
    db.close();
  }
}

/** Fills a store at `path` with `n` messages of one conversation, in bursts of 1,000. */
function fill(path: string, key: Buffer, n: number, log: (line: string) => void): number {
  const db = new StoreDb(path, key);
  const history = new History(db);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    db.transaction(() => { for (let j = i; j < Math.min(n, i + 1000); j++) history.add(message(j)); });
    if ((i / 1000) % 20 === 19) log(`  filled ${i + 1000}/${n}`);
  }
  const elapsed = performance.now() - t0;
  db.close();
  return elapsed;
}

/** Fresh processes open the store and read the newest page: their memory then (MiB), median of 3. */
function memoryAfterOpen(path: string, key: Buffer): { rss: number; heap: number } {
  const runs: { rss: number; heap: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--memory-child', path, key.toString('hex')], { encoding: 'utf8' });
    runs.push(JSON.parse(out.trim().split('\n').pop()!) as { rss: number; heap: number });
  }
  return { rss: percentile(runs.map((r) => r.rss), 50), heap: percentile(runs.map((r) => r.heap), 50) };
}

/** Runs the benchmark; returns its rows (the table and JSON are the caller's). */
export async function historyBench(opts: HistoryBenchOptions = {}): Promise<ReportRow[]> {
  const o: Required<HistoryBenchOptions> = { messages: 100_000, small: 1_000, paced: 200, burst: 1_000, reads: 50, log: (l) => process.stderr.write(`${l}\n`), ...opts };
  const dir = await mkdtemp(join(tmpdir(), 'p2p-history-bench-'));
  const rows: ReportRow[] = [];
  try {
    o.log('history bench: append costs');
    for (const d of ['process', 'power'] as const) rows.push(...(await appendCosts(dir, d, o)));

    o.log(`history bench: filling a ${o.messages}-message conversation`);
    const key = randomBytes(32);
    const big = join(dir, 'big.db');
    const fillMs = fill(big, key, o.messages, o.log);
    rows.push({ metric: `fill ${o.messages} messages (bursts of 1000)`, value: Math.round(o.messages / (fillMs / 1000)), unit: 'messages/s', note: `store.db ${(statSync(big).size / 1024 / 1024).toFixed(1)} MiB` });

    const opens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const db = new StoreDb(big, key);
      opens.push(performance.now() - t0);
      db.close();
    }
    rows.push({ metric: `open a ${o.messages}-message store`, value: ms(percentile(opens, 50)), unit: 'ms', note: `median of 5; worst ${ms(Math.max(...opens))} ms` });

    const db = new StoreDb(big, key);
    try {
      const history = new History(db);
      // The first read after open pays for loading the pages and compiling the query: reported apart.
      const t1 = performance.now();
      history.page(ROOM, { limit: 50 });
      rows.push({ metric: `first newest page (50) after open`, value: ms(performance.now() - t1), unit: 'ms', note: 'cold: pages read from the file, statements prepared' });
      const reads: number[] = [];
      for (let i = 0; i < o.reads; i++) {
        const t0 = performance.now();
        const page = history.page(ROOM, { limit: 50 });
        reads.push(performance.now() - t0);
        if (page.messages.length !== 50 || !page.more) throw new Error('the newest page is not 50 messages with more before it');
      }
      rows.push({ metric: `newest page (50) of ${o.messages}`, value: ms(percentile(reads, 50)), unit: 'ms', note: `median of ${o.reads}; p99 ${ms(percentile(reads, 99))} ms (target < 50 ms)`, p99: percentile(reads, 99), samples: reads });
      const middle: number[] = [];
      for (let i = 0; i < o.reads; i++) {
        const t0 = performance.now();
        history.page(ROOM, { before: `msg-${Math.floor(o.messages / 2) + i}`, limit: 50 });
        middle.push(performance.now() - t0);
      }
      rows.push({ metric: `page (50) from the middle of ${o.messages}`, value: ms(percentile(middle, 50)), unit: 'ms', note: `median of ${o.reads}; p99 ${ms(percentile(middle, 99))} ms` });
      const t0 = performance.now();
      const n = history.count(ROOM);
      rows.push({ metric: `count of ${n}`, value: ms(performance.now() - t0), unit: 'ms', note: 'an index scan: O(n), not on the hot path' });
    } finally {
      db.close();
    }

    o.log('history bench: memory after open, big vs small');
    const small = join(dir, 'small.db');
    fill(small, key, o.small, () => {});
    const memBig = memoryAfterOpen(big, key);
    const memSmall = memoryAfterOpen(small, key);
    rows.push(
      { metric: `RSS after open + newest page, ${o.messages} messages`, value: Math.round(memBig.rss * 10) / 10, unit: 'MiB', note: `heap ${memBig.heap.toFixed(1)} MiB` },
      { metric: `RSS after open + newest page, ${o.small} messages`, value: Math.round(memSmall.rss * 10) / 10, unit: 'MiB', note: `heap ${memSmall.heap.toFixed(1)} MiB` },
      { metric: 'RSS growth with history size', value: Math.round((memBig.rss - memSmall.rss) * 10) / 10, unit: 'MiB', note: `heap ${(memBig.heap - memSmall.heap).toFixed(1)} MiB (must not grow with history size)` },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

async function memoryChild(path: string, keyHex: string): Promise<void> {
  const db = new StoreDb(path, Buffer.from(keyHex, 'hex'));
  new History(db).page(ROOM, { limit: 50 });
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  db.close();
  process.stdout.write(`${JSON.stringify({ rss: m.rss / 1024 / 1024, heap: m.heapUsed / 1024 / 1024 })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, json: { type: 'string', default: 'bench-results/history.json' }, 'memory-child': { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (values['memory-child']) {
    const [path, key] = process.argv.slice(process.argv.indexOf('--memory-child') + 1);
    await memoryChild(path!, key!);
  } else {
    const messages = values.messages ? Number(values.messages) : undefined;
    const loadAtStart = loadavg()[0];
    const rows = await historyBench(messages ? { messages } : {});
    report('Message store (node-sqlite3-wasm, sealed rows)', rows, values.json, {
      notes: [
        "durability 'process' (the default: synchronous=OFF, rollback journal) survives SIGKILL; 'power' adds an fsync per commit (synchronous=FULL)",
        'RSS is of a fresh process (node, tsx, the WebAssembly SQLite heap) after opening the store and reading its newest page (median of 3)',
        `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end on ${cpus().length} CPUs: p99s on a shared machine are upper bounds`,
      ],
      meta: { loadAverage: { start: loadAtStart, end: loadavg()[0] } },
    });
  }
}
