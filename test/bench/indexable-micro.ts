// What the search index's loader (MessageActions.indexable: every shown message's current text)
// costs, and what it holds outside the index's budget while it runs. `node --import tsx
// test/bench/indexable-micro.ts [--messages 100000] [--edits 20000] [--edit-chars 4096]` over a real
// store.db in a temp folder: `--messages` shown messages in 5 rooms, one in 20 edited by its author,
// and a hostile member's `--edits` edits of `--edit-chars` characters each naming made-up ids (never
// applied: not the author's, nor of any message here). Prints the CPU time of one full pass (less the sampling GCs) and the
// heap held at its peak during the pass (after a GC, at the first message yielded and every 10,000th:
// what the pass holds, garbage left out).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBytes } from '../../protocol/crypto.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { MessageActions } from '../../peer/message-actions.ts';
import { SearchIndex } from '../../peer/search-index.ts';
import { StoreDb } from '../../peer/store-db.ts';

const { values: flags } = parseArgs({ options: { messages: { type: 'string', default: '100000' }, edits: { type: 'string', default: '20000' }, 'edit-chars': { type: 'string', default: '4096' } } });
const MESSAGES = Number(flags.messages);
const EDITS = Number(flags.edits);
const EDIT_CHARS = Number(flags['edit-chars']);
const ROOMS = Array.from({ length: 5 }, (_, i) => `${'R'.repeat(42)}${i}`);
const MEMBERS = Array.from({ length: 20 }, (_, i) => `member${String(i).padStart(2, '0')}`);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'p2p-indexable-micro-'));
const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
const history = new History(db);
const index: SearchIndex = new SearchIndex(() => actions.indexable());
const actions: MessageActions = new MessageActions(history, index, db);
let seq = 0;
const row = (conversation: string, from: string, text: string, over: Partial<StoredMessage> = {}): StoredMessage => ({ conversation, id: `x${++seq}`, from, session: `S-${from}`, seq, sentAt: 1_700_000_000_000 + seq, text, ...over });
for (let i = 0; i < MESSAGES; i += 1000) {
  db.transaction(() => {
    for (let j = i; j < Math.min(MESSAGES, i + 1000); j++) {
      const room = ROOMS[j % ROOMS.length]!;
      const from = MEMBERS[j % MEMBERS.length]!;
      const m = row(room, from, `message ${j}: the plan for friday is to deploy`);
      history.add(m);
      if (j % 20 === 0) history.add(row(room, from, `message ${j}: the plan for monday`, { action: { t: 'edit', of: m.id } }));
    }
  });
}
const filler = 'e'.repeat(EDIT_CHARS);
for (let i = 0; i < EDITS; i += 1000) {
  db.transaction(() => {
    for (let j = i; j < Math.min(EDITS, i + 1000); j++) history.add(row(ROOMS[0]!, 'mallory', `${j} ${filler}`.slice(0, EDIT_CHARS), { action: { t: 'edit', of: `made-up-${j}` } }));
  });
}
db.flush();

gc();
const base = process.memoryUsage().heapUsed;
let peak = 0;
let n = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let gcCpu = 0;
for (const _ of actions.indexable()) {
  if (++n % 10_000 !== 1) continue;
  const g = process.cpuUsage();
  gc();
  const d = process.cpuUsage(g);
  gcCpu += d.user + d.system;
  peak = Math.max(peak, process.memoryUsage().heapUsed - base);
}
const took = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system - gcCpu) / 1000;
db.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${MESSAGES} messages (${MESSAGES / 20} edited), ${EDITS} hostile edits of ${EDIT_CHARS} chars: indexable yielded ${n} in ${Math.round(cpuMs)} ms CPU (${Math.round(took)} ms wall, its GCs for sampling included); heap held at its peak ${(peak / 1024 / 1024).toFixed(1)} MiB\n`);
