// CPU a read receipt costs a receiver when one member has sent many naming messages that never
// arrive (made-up ids: a DM from anyone, or a room member's modified client). `node --import tsx
// test/bench/receipts-micro.ts [--pending 50000] [--reps 200]` over a real store.db in a temp
// folder, in CPU µs (process.cpuUsage), median of `--reps`:
// - receive: one more receipt of theirs stored and applied (History.add, MessageActions.applied,
//   which prunes their receipts: History.pruneReads), as every receiver does for each;
// - reads: History.reads for the conversation's members, which the extension runs on every `read`.
// The store: 2,000 messages of 20 members, each member's receipt up to one of them, then
// `--pending` receipts of member01 naming ids that are not here, written straight into the store
// (as a store from before a bound, or rows that came in one burst) and then one of theirs applied
// untimed. Printed with the rows of theirs kept. A receipt's cost must not grow with `--pending`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from '../../protocol/crypto.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { MessageActions } from '../../peer/message-actions.ts';
import { SearchIndex } from '../../peer/search-index.ts';
import { StoreDb } from '../../peer/store-db.ts';

const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '200' }, pending: { type: 'string', default: '50000' } } });
const REPS = Number(flags.reps);
const PENDING = Number(flags.pending);
const ROOM = 'R'.repeat(43);
const named = { id: ROOM, name: 'general' };
const MEMBERS = Array.from({ length: 20 }, (_, i) => `member${String(i).padStart(2, '0')}`);

let seq = 0;
const plain = (id: string, from: string): StoredMessage => ({ conversation: ROOM, id, from, session: `S-${from}`, seq: ++seq, sentAt: 1_000_000 + seq, text: `message ${id}` });
const receipt = (from: string, upTo: string): StoredMessage => ({ conversation: ROOM, id: `r${seq + 1}`, from, session: `S-${from}`, seq: ++seq, sentAt: 1_000_000 + seq, text: '', action: { t: 'read', upTo } });

function cpuUs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return d.user + d.system;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'p2p-receipts-micro-'));
const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
const history = new History(db);
const index: SearchIndex = new SearchIndex(() => actions.indexable());
const actions: MessageActions = new MessageActions(history, index, db);
const ids: string[] = [];
for (let i = 0; i < 2000; i++) {
  const m = plain(`m${i}`, MEMBERS[i % MEMBERS.length]!);
  history.add(m);
  ids.push(m.id);
}
for (const u of MEMBERS) {
  const r = receipt(u, ids[1990]!);
  history.add(r);
  actions.applied(r, named);
}
for (let i = 0; i < PENDING; i++) {
  history.add(receipt('member01', `made-up-${i}`));
  if (i % 5000 === 4999) await db.committed();
}
const first = receipt('member01', 'made-up-first');
history.add(first);
actions.applied(first, named);
await db.committed();

const receive: number[] = [];
const reads: number[] = [];
for (let i = 0; i < REPS; i++) {
  receive.push(cpuUs(() => {
    const r = receipt('member01', `made-up-again-${i}`);
    history.add(r);
    actions.applied(r, named);
  }));
  reads.push(cpuUs(() => void history.reads(ROOM, { users: MEMBERS, limit: MEMBERS.length })));
  await db.committed();
}
const kept = Number(db.get(`SELECT count(*) AS n FROM messages WHERE conversation = ? AND kind = 'read' AND sender = 'member01'`, [ROOM])!.n);
db.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${PENDING} pending receipts of one member: receive one more ${median(receive)} µs, reads ${median(reads)} µs (CPU, median of ${REPS}); their receipts kept: ${kept}\n`);
