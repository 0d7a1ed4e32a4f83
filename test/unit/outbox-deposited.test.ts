// The outbox's mark of what the tracker's mailbox holds (peer/outbox.ts deposited, migration 5 of
// peer/store-schema.ts) on a real store: per member, kept over a reopen,
// cleared when the tracker drops the item, gone with the waiting row; a store from before the
// migration starts with nothing marked (each waiting message is deposited once more, then never).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import { OutboxStore, type OutboxEntry } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { MIGRATIONS } from '../../peer/store-schema.ts';

const ROOM = 'A'.repeat(43);
const entry = (seq: number): OutboxEntry => ({ room: ROOM, roomName: 'design-review', id: `m${seq}`, session: 'S1', seq, sentAt: 1000 + seq });
const at = (seq: number) => ({ room: ROOM, session: 'S1', seq });
const ids = (entries: OutboxEntry[]) => entries.map((e) => e.id);

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-outbox-dep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a deposit mark is per member, kept over a reopen, and cleared by a drop', async (t) => {
  const path = join(await folder(t), 'store.db');
  const key = randomBytes(32);
  let db = new StoreDb(path, key);
  let outbox = new OutboxStore(db);
  for (let seq = 0; seq < 3; seq++) outbox.add(entry(seq), ['bob', 'carol']);
  outbox.deposited('bob', [at(0), at(1)]);
  outbox.deposited('bob', [at(9)]); // not in the outbox: passed over
  assert.deepEqual(ids(outbox.undepositedFor('bob')), ['m2']);
  assert.deepEqual(ids(outbox.undepositedFor('carol')), ['m0', 'm1', 'm2'], 'marked for bob only');
  db.close();
  db = new StoreDb(path, key);
  t.after(() => db.close());
  outbox = new OutboxStore(db);
  assert.deepEqual(ids(outbox.undepositedFor('bob')), ['m2'], 'kept over a reopen');
  outbox.deposited('bob', [at(1)], false);
  assert.deepEqual(ids(outbox.undepositedFor('bob')), ['m1', 'm2'], 'a dropped item is deposited again');
  // Delivered to bob, or withdrawn: no longer waiting, so never deposited again.
  outbox.delivered(ROOM, 'S1', 1, 'bob');
  outbox.withdraw(ROOM, 'S1', 2);
  assert.deepEqual(ids(outbox.undepositedFor('bob')), []);
  assert.deepEqual(ids(outbox.undepositedFor('carol')), ['m0', 'm1']);
});

test('a store from before the deposit marks keeps its outbox, with nothing marked', async (t) => {
  const path = join(await folder(t), 'store.db');
  const key = randomBytes(32);
  let db = new StoreDb(path, key);
  new OutboxStore(db).add(entry(0), ['bob']);
  await db.committed();
  db.close();
  // Back to the schema before migration 5: the column goes (and what later steps added: step 6's
  // snippet flag, step 7's tables, step 9's outbox action columns), user_version says 4.
  const before = MIGRATIONS.findIndex((m) => m.includes('deposited'));
  assert.ok(before > 0);
  const raw = new sqlite.Database(path);
  raw.exec('PRAGMA locking_mode=EXCLUSIVE');
  raw.exec(`DROP TABLE sent_sessions; DROP TABLE rejoins_handled; DROP TABLE rejoin_resent; DROP INDEX outbox_actions; ALTER TABLE outbox DROP COLUMN kind; ALTER TABLE outbox DROP COLUMN target; ALTER TABLE outbox DROP COLUMN emoji; DROP INDEX messages_snippets; ALTER TABLE messages DROP COLUMN snippet; ALTER TABLE outbox_waiting DROP COLUMN deposited; PRAGMA user_version = ${before}`);
  raw.close();
  db = new StoreDb(path, key);
  t.after(() => db.close());
  const outbox = new OutboxStore(db);
  assert.deepEqual(ids(outbox.undepositedFor('bob')), ['m0']);
  assert.deepEqual(outbox.waitingFor(ROOM, 'S1', 0), ['bob']);
});
