// A child process for test/unit/store-sigkill.test.ts: appends messages to a history store in a
// loop, in bursts of 1..20 per event-loop turn (one commit each, as the engine writes), and prints
// each message's id on its own line once its commit is done, until it is killed.
// Usage: node --import tsx test/helpers/store-writer.ts <store.db path> <key hex> <first index>

import { History } from '../../peer/history.ts';
import { StoreDb } from '../../peer/store-db.ts';

const [path, keyHex, firstArg] = process.argv.slice(2);
if (!path || !keyHex || !firstArg) throw new Error('usage: store-writer.ts <store.db> <key hex> <first index>');
const db = new StoreDb(path, Buffer.from(keyHex, 'hex'));
const history = new History(db);
const conversation = 'K'.repeat(43);

let i = Number(firstArg);
for (;;) {
  const burst = 1 + Math.floor(Math.random() * 20);
  const ids: string[] = [];
  for (let n = 0; n < burst; n++, i++) {
    const id = `m${i}`;
    // Sizes up to ~6 KiB: a burst spans several pages, so a kill lands mid-transaction often.
    const text = `message ${i} `.padEnd(64 + ((i * 7919) % 6000), String.fromCharCode(97 + (i % 26)));
    history.add({ conversation, id, from: 'writer', session: 'S1', seq: i, sentAt: 1_700_000_000_000 + i, text });
    ids.push(id);
  }
  await db.committed();
  process.stdout.write(ids.join('\n') + '\n');
}
