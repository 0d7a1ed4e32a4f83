// What an outbox entry is (peer/outbox.ts add `action`, migration 9 of peer/store-schema.ts), on a
// real store: a newer receipt, toggle or edit of mine makes the older entries it covers leave, for
// the members it waits for (a copy in their mailbox is withdrawn); over the cap, receipts and
// toggles are evicted before messages; a store from before the migration keeps its entries as
// messages.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import type { MessageAction } from '../../protocol/message-actions.ts';
import { History } from '../../peer/history.ts';
import { OutboxStore, type OutboxEntry } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { MIGRATIONS } from '../../peer/store-schema.ts';

const ROOM = 'A'.repeat(43);
const OTHER = 'B'.repeat(43);
const entry = (seq: number, over: Partial<OutboxEntry> = {}): OutboxEntry =>
  ({ room: ROOM, roomName: 'design-review', id: `m${seq}`, session: 'S1', seq, sentAt: 1000 + seq, ...over });
const ids = (outbox: OutboxStore, user?: string) => (user ? outbox.pendingFor(user) : outbox.pending()).map((p) => p.id);
const read = (upTo: string): MessageAction => ({ t: 'read', upTo });
const react = (of: string, emoji: string, on: boolean): MessageAction => ({ t: 'react', of, emoji, on });

async function store(t: TestContext): Promise<{ path: string; key: Buffer; db: StoreDb }> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-outbox-sup-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'store.db');
  const key = randomBytes(32);
  return { path, key, db: new StoreDb(path, key) };
}

/** Shown messages b0..b4 of bob in ROOM, in that order (what receipts name). */
function timeline(db: StoreDb): void {
  const history = new History(db);
  for (let i = 0; i < 5; i++) history.add({ conversation: ROOM, id: `b${i}`, from: 'bob', session: 'SB', seq: i, sentAt: 500 + i, text: `b${i}` });
}

test('a newer toggle of one emoji on one message supersedes my older ones; other emoji, messages and rooms stay', async (t) => {
  const { db } = await store(t);
  t.after(() => db.close());
  const outbox = new OutboxStore(db);
  outbox.add(entry(0), ['bob', 'carol']);
  outbox.add(entry(1), ['carol'], react('b0', '👍', true));
  outbox.add(entry(2), ['carol'], react('b0', '🎉', true));
  outbox.add(entry(3), ['carol'], react('b1', '👍', true));
  outbox.add(entry(4, { room: OTHER }), ['carol'], react('b0', '👍', true));
  outbox.add(entry(5), ['carol'], react('b0', '👍', false));
  assert.deepEqual(ids(outbox, 'carol'), ['m0', 'm2', 'm3', 'm4', 'm5'], 'm1 (👍 on b0) is covered by m5 (👍 off b0)');
  outbox.add(entry(6), ['carol'], react('b0', '👍', true));
  outbox.add(entry(7), ['carol'], react('b0', '🎉', false));
  assert.deepEqual(ids(outbox, 'carol'), ['m0', 'm3', 'm4', 'm6', 'm7']);
  // Edits: the newest carries the whole text.
  outbox.add(entry(8), ['carol'], { t: 'edit', of: 'm0' });
  outbox.add(entry(9), ['carol'], { t: 'edit', of: 'b9' });
  outbox.add(entry(10), ['carol'], { t: 'edit', of: 'm0' });
  assert.deepEqual(ids(outbox, 'carol'), ['m0', 'm3', 'm4', 'm6', 'm7', 'm9', 'm10']);
  // A delete supersedes nothing (and is superseded by nothing).
  outbox.add(entry(11), ['carol'], { t: 'delete', of: 'm0' });
  outbox.add(entry(12), ['carol'], { t: 'delete', of: 'm0' });
  assert.deepEqual(ids(outbox, 'carol').slice(-2), ['m11', 'm12']);
  assert.deepEqual(outbox.waitingFor(ROOM, 'S1', 0), ['bob', 'carol'], 'the message still waits for both');
});

test('a receipt supersedes my older receipts naming a message at or before its own, not further ones, in its conversation only', async (t) => {
  const { db } = await store(t);
  t.after(() => db.close());
  timeline(db);
  const outbox = new OutboxStore(db);
  outbox.add(entry(0), ['carol']);
  outbox.add(entry(1), ['carol'], read('b1'));
  outbox.add(entry(2), ['carol'], read('b3'));
  outbox.add(entry(3), ['carol'], read('b2'));
  assert.deepEqual(ids(outbox), ['m0', 'm2', 'm3'], 'b2 covers b1, not b3 (the furthest counts)');
  outbox.add(entry(4), ['carol'], read('b3'));
  assert.deepEqual(ids(outbox), ['m0', 'm4'], 'b3 covers b2 and the older b3');
  outbox.add(entry(5), ['carol'], read('unknown'));
  outbox.add(entry(6, { room: OTHER }), ['carol'], read('b4'));
  assert.deepEqual(ids(outbox), ['m0', 'm4', 'm5', 'm6'], 'a receipt naming no message here covers nothing; another room\'s nothing here');
  outbox.add(entry(7), ['carol'], read('b4'));
  assert.deepEqual(ids(outbox), ['m0', 'm5', 'm6', 'm7'], 'one naming nothing here is not covered either');
});

test('an entry is superseded only for the members the newer one waits for; a copy in their mailbox is withdrawn', async (t) => {
  const { db } = await store(t);
  t.after(() => db.close());
  timeline(db);
  const outbox = new OutboxStore(db);
  outbox.add(entry(0), ['bob', 'carol', 'dave'], read('b1'));
  outbox.add(entry(1), ['bob', 'carol', 'dave'], react('b0', '👍', true));
  outbox.deposited('carol', [{ room: ROOM, session: 'S1', seq: 0 }, { room: ROOM, session: 'S1', seq: 1 }]);
  // Dave's key is blocked now: the newer ones do not go to him, so the older still wait for him.
  assert.equal(outbox.add(entry(2), ['bob', 'carol'], read('b2')), 1, 'carol\'s deposited copy of m0');
  assert.equal(outbox.add(entry(3), ['bob', 'carol'], react('b0', '👍', false)), 1, 'carol\'s deposited copy of m1');
  assert.deepEqual(outbox.waitingFor(ROOM, 'S1', 0), ['dave']);
  assert.deepEqual(outbox.waitingFor(ROOM, 'S1', 1), ['dave']);
  assert.deepEqual([...outbox.withdrawals(10)], [['carol', [{ room: ROOM, session: 'S1', seq: 0 }, { room: ROOM, session: 'S1', seq: 1 }]]]);
  assert.equal(outbox.add(entry(4), ['bob', 'carol', 'dave'], read('b3')), 0, 'nothing deposited');
  assert.deepEqual(ids(outbox), ['m1', 'm3', 'm4'], 'm0 left (m4 covers it for dave too); m1 still waits for dave');
  // At the withdrawals' bound a superseded copy stays in the mailbox: no delete's withdrawal is pushed out.
  const full = new OutboxStore(db, { maxWithdrawals: 2 });
  full.deposited('carol', [{ room: ROOM, session: 'S1', seq: 4 }]);
  assert.equal(full.add(entry(5), ['bob', 'carol', 'dave'], read('b4')), 0);
  assert.equal(full.takeForgottenWithdrawals(), 0);
  assert.equal(full.withdrawalsKept(), 2);
  assert.deepEqual(ids(full), ['m1', 'm3', 'm5']);
});

test('over the cap, receipts and toggles are evicted before messages, the oldest first; a message goes only when none is left', async (t) => {
  const { db } = await store(t);
  t.after(() => db.close());
  timeline(db);
  const outbox = new OutboxStore(db);
  outbox.add(entry(0), ['carol']);
  outbox.add(entry(1), ['carol'], read('b0'));
  outbox.add(entry(2), ['carol'], react('b0', '👍', true));
  outbox.add(entry(3), ['carol'], { t: 'edit', of: 'm0' });
  outbox.add(entry(4), ['carol'], read('unknown'));
  outbox.add(entry(5), ['carol']);
  // Cap 3 of 6: the receipts and the toggle go (m1, m2, m4), not the older message m0; untold
  // (a receipt is no message of the user's: peer/outbox.ts TOLD).
  const expired = outbox.expire(2000, 10_000, 3);
  assert.deepEqual(expired, []);
  assert.deepEqual(ids(outbox), ['m0', 'm3', 'm5']);
  assert.deepEqual(outbox.expiredFor(ROOM, 'S1', 1), [], 'nor remembered as expired');
  // Then messages (and edits, deletes) by age, reported as before.
  assert.deepEqual(outbox.expire(2000, 10_000, 2), [{ room: ROOM, roomName: 'design-review', id: 'm0', user: 'carol' }]);
  assert.deepEqual(outbox.expiredFor(ROOM, 'S1', 0), ['carol']);
  assert.deepEqual(ids(outbox), ['m3', 'm5']);
});

test('a store from before the action columns opens, keeps its entries as messages, and supersedes from then on', async (t) => {
  const { path, key, db: db0 } = await store(t);
  timeline(db0);
  new OutboxStore(db0).add(entry(0), ['carol']);
  await db0.committed();
  db0.close();
  // Back to the schema before migration 9: no columns, no index, user_version says 8.
  const before = MIGRATIONS.findIndex((m) => m.includes('outbox_actions'));
  assert.equal(before, 8);
  const raw = new sqlite.Database(path);
  raw.exec('PRAGMA locking_mode=EXCLUSIVE');
  raw.exec(`DROP INDEX outbox_actions; ALTER TABLE outbox DROP COLUMN kind; ALTER TABLE outbox DROP COLUMN target; ALTER TABLE outbox DROP COLUMN emoji; PRAGMA user_version = ${before}`);
  raw.close();
  const db = new StoreDb(path, key);
  t.after(() => db.close());
  const outbox = new OutboxStore(db);
  assert.deepEqual(outbox.pending(), [{ ...entry(0), waitingFor: ['carol'] }], 'opens (sealed as before)');
  outbox.add(entry(1), ['carol'], read('b0'));
  outbox.add(entry(2), ['carol'], read('b1'));
  assert.deepEqual(ids(outbox), ['m0', 'm2']);
  assert.deepEqual(outbox.expire(2000, 10_000, 1), [], 'the receipt goes (untold) before the old message');
  assert.deepEqual(ids(outbox), ['m0']);
  // An action entry's kind is bound to it: moved to another kind it does not open.
  outbox.add(entry(3), ['carol'], read('b1'));
  db.transaction(() => db.run(`UPDATE outbox SET kind = '' , target = NULL WHERE id = 'm3'`));
  assert.throws(() => outbox.pending(), (err: unknown) => (err as { code?: string }).code === 'crypto.decrypt_failed');
});
