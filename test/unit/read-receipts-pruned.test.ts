// A member's read receipts behind their read position are dropped as each one is applied (third
// attacker pass: a member sending receipts for ever made History.reads, which the extension runs on
// every `read` event, go through all of them: ~130 ms at 50,000). Over a real store.db: what reads
// answers is unchanged, receipts naming a message not here yet are kept until it arrives, a sender's
// newest MAX_PENDING_READS of them (made-up ids kept without bound cost ~50 ms a receipt at 50,000).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PENDING_READS, type StoredMessage } from '../../peer/history.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const msg = (id: string, from: string, sentAt: number, over: Partial<StoredMessage> = {}) => storedMessage(id, from, { sentAt, text: over.action ? '' : id, ...over });

test("a member's receipts behind their read position are dropped as they come; reads answers the same", async (t) => {
  const { db, history, actions } = await storeFixture(t, 'p2p-reads-pruned-');
  const receipts = (user: string) => Number(db.get(`SELECT count(*) AS n FROM messages WHERE conversation = ? AND kind = 'read' AND sender = ?`, [ROOM, user])!.n);
  const receive = (m: StoredMessage) => {
    assert.ok(history.add(m));
    return actions.applied(m, named).told;
  };
  for (let i = 1; i <= 300; i++) history.add(msg(`m${i}`, 'alice', i * 1000));
  // bob reads along, 300 receipts; carol once.
  for (let i = 1; i <= 300; i++) receive(msg(`rb${i}`, 'bob', i * 1000 + 500, { action: { t: 'read', upTo: `m${i}` } }));
  receive(msg('rc1', 'carol', 2500, { action: { t: 'read', upTo: 'm2' } }));
  assert.equal(receipts('bob'), 1, "only bob's furthest receipt is kept");
  assert.deepEqual(history.reads(ROOM, { limit: 10 }), [{ user: 'bob', upTo: 'm300' }, { user: 'carol', upTo: 'm2' }]);

  // A receipt behind (a slow device of bob's) changes nothing and is not kept.
  const told = receive(msg('rb-old', 'bob', 400_000, { action: { t: 'read', upTo: 'm10' } }));
  assert.deepEqual(told, [{ name: 'read', e: { room: 'general', roomId: ROOM, user: 'bob', upTo: 'm10' } }]);
  assert.equal(receipts('bob'), 1);
  assert.deepEqual(history.reads(ROOM, { users: ['bob'], limit: 1 }), [{ user: 'bob', upTo: 'm300' }]);

  // One naming a message not here yet is kept, and counts once that message arrives.
  receive(msg('rb-ahead', 'bob', 402_000, { action: { t: 'read', upTo: 'm301' } }));
  assert.equal(receipts('bob'), 2);
  const m301 = msg('m301', 'alice', 301_000);
  history.add(m301);
  actions.arrived(m301, named);
  assert.deepEqual(history.reads(ROOM, { users: ['bob'], limit: 1 }), [{ user: 'bob', upTo: 'm301' }]);
  receive(msg('rb-next', 'bob', 403_000, { action: { t: 'read', upTo: 'm301' } }));
  assert.equal(receipts('bob'), 1);
  assert.deepEqual(history.reads(ROOM, { users: ['bob'], limit: 1 }), [{ user: 'bob', upTo: 'm301' }]);
});

test("receipts naming messages that are not here are kept only as a sender's newest MAX_PENDING_READS by arrival; one whose message comes later still counts", async (t) => {
  const { db, history, actions } = await storeFixture(t, 'p2p-reads-pending-');
  const receipts = (user: string) => db.all(`SELECT id FROM messages WHERE conversation = ? AND kind = 'read' AND sender = ? ORDER BY rowid`, [ROOM, user]).map((r) => String(r.id));
  const receive = (m: StoredMessage) => {
    assert.ok(history.add(m));
    return actions.applied(m, named).told;
  };
  for (let i = 1; i <= 5; i++) history.add(msg(`m${i}`, 'alice', i * 1000));
  // bob has read m2, and m7 on a device that has it; m6 and m7 are still on their way here.
  receive(msg('rb2', 'bob', 2500, { action: { t: 'read', upTo: 'm2' } }));
  receive(msg('rb7', 'bob', 7500, { action: { t: 'read', upTo: 'm7' } }));
  // mallory sends receipts naming made-up ids, dated ever further back (her signed time decides nothing).
  const flood = Array.from({ length: 200 }, (_, i) => `x${i}`);
  for (const [i, id] of flood.entries()) receive(msg(id, 'mallory', 900_000 - i, { action: { t: 'read', upTo: `made-up-${i}` } }));
  assert.deepEqual(receipts('mallory'), flood.slice(-MAX_PENDING_READS), 'her newest by arrival are kept, no more');
  // Her receipt naming a message here is kept as her position, beside her pending ones.
  receive(msg('xm3', 'mallory', 1, { action: { t: 'read', upTo: 'm3' } }));
  assert.deepEqual(receipts('mallory'), [...flood.slice(-MAX_PENDING_READS), 'xm3']);
  assert.deepEqual(history.reads(ROOM, { limit: 10 }), [{ user: 'bob', upTo: 'm2' }, { user: 'mallory', upTo: 'm3' }]);

  // Her flood took none of bob's: his receipt naming m7 counts once m7 arrives.
  assert.deepEqual(receipts('bob'), ['rb2', 'rb7']);
  for (const id of ['m7', 'm6']) {
    const m = msg(id, 'alice', Number(id.slice(1)) * 1000);
    history.add(m);
    actions.arrived(m, named);
  }
  assert.deepEqual(history.reads(ROOM, { users: ['bob'], limit: 1 }), [{ user: 'bob', upTo: 'm7' }]);
});
