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

import { parseArgs } from 'node:util';
import type { StoredMessage } from '../../peer/history.ts';
import { MEMBERS, ROOM, benchStore, cpuUs, median, named, row } from './bench-store.ts';

const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '200' }, pending: { type: 'string', default: '50000' } } });
const REPS = Number(flags.reps);
const PENDING = Number(flags.pending);

const receipt = (from: string, upTo: string): StoredMessage => row(from, '', { action: { t: 'read', upTo } });

const store = benchStore('p2p-receipts-micro-', (id) => `message ${id}`);
const { db, history, actions, ids } = store;
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
store.close();
process.stdout.write(`${PENDING} pending receipts of one member: receive one more ${median(receive)} µs, reads ${median(reads)} µs (CPU, median of ${REPS}); their receipts kept: ${kept}\n`);
