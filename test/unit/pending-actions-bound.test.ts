// What one member can make every other member keep through actions is bounded (attacker pass:
// 120 edits of 60 KB naming made-up ids were 8.7 MiB in every member's store, never shown). Over a
// real store.db: reactions and edits naming no message here are kept only as a sender's newest few
// by arrival (History.prunePending), deletes too but many more (a delete that came before its
// message still removes its text); an author's edits past MAX_EDITS_NAMED of one message are ignored on receipt,
// and a delete still removes the text of all those kept; a sender's reaction rows on one message
// are those readers read; another member's edit of a message here is not kept.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PENDING_ACTIONS, type StoredMessage } from '../../peer/history.ts';
import { MAX_REACTION_ROWS_PER_USER } from '../../peer/message-actions.ts';
import { MAX_EDITS_NAMED, type MessageAction } from '../../protocol/message-actions.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const msg = (id: string, from: string, text: string, action?: MessageAction, sentAt?: number): StoredMessage =>
  storedMessage(id, from, { text, ...(action ? { action } : {}), ...(sentAt !== undefined ? { sentAt } : {}) });

async function store(t: Parameters<typeof storeFixture>[0]) {
  const f = await storeFixture(t, 'p2p-pending-actions-');
  /** Rows of `kind` by `from` in ROOM, by arrival. */
  const rows = (kind: string, from: string) => f.db.all(`SELECT id FROM messages WHERE conversation = ? AND kind = ? AND sender = ? ORDER BY rowid`, [ROOM, kind, from]).map((r) => String(r.id));
  /** A row received: stored and applied, as peer/room-messages.ts does. */
  const receive = (m: StoredMessage) => {
    assert.ok(f.history.add(m));
    return m.action ? f.actions.applied(m, named) : { told: f.actions.arrived(m, named).told, dead: [] };
  };
  return { ...f, rows, receive };
}

test("edits and reactions naming no message here are kept only as a sender's newest few by arrival; the edits dropped are handed back to tombstone", async (t) => {
  const { rows, receive } = await store(t);
  const big = 'x'.repeat(60_000);
  const edits: string[] = [];
  const dropped: string[] = [];
  // mallory's edits of made-up ids, dated ever further back (her signed time decides nothing).
  for (let i = 0; i < 150; i++) {
    const e = msg(`e${i}`, 'mallory', big + i, { t: 'edit', of: `made-up-${i}` }, 900_000 - i);
    edits.push(e.id);
    const { told, dead } = receive(e);
    assert.deepEqual(told, []);
    dropped.push(...dead.map((d) => d.id));
    for (const d of dead) assert.equal(d.from, 'mallory');
  }
  assert.deepEqual(rows('edit', 'mallory'), edits.slice(-MAX_PENDING_ACTIONS.edit), 'her newest edits by arrival are kept, no more');
  assert.deepEqual(dropped, edits.slice(0, -MAX_PENDING_ACTIONS.edit), 'each edit dropped is handed back once, for its held envelope');
  const reactions: string[] = [];
  for (let i = 0; i < 300; i++) {
    const r = msg(`r${i}`, 'mallory', '', { t: 'react', of: `made-up-${i}`, emoji: '👍', on: true }, 900_000 - i);
    reactions.push(r.id);
    assert.deepEqual(receive(r).dead, [], 'a reaction carries no text: its held envelope stays');
  }
  assert.deepEqual(rows('react', 'mallory'), reactions.slice(-MAX_PENDING_ACTIONS.react));
  // Reactions naming a reaction row (not a message) are pending alike.
  for (let i = 0; i < 20; i++) receive(msg(`rr${i}`, 'mallory', '', { t: 'react', of: reactions.at(-1)!, emoji: '🎉', on: true }));
  assert.equal(rows('react', 'mallory').length, MAX_PENDING_ACTIONS.react);
});

test("a sender's pending reactions and edits push out neither their pending delete nor anyone else's pending actions", async (t) => {
  const { history, actions, rows, receive } = await store(t);
  // alice's delete of m1 and bob's reaction to it come before m1 (catch-up order); alice's edit of m2 too.
  receive(msg('d1', 'alice', '', { t: 'delete', of: 'm1' }));
  receive(msg('rb', 'bob', '', { t: 'react', of: 'm1', emoji: '👀', on: true }));
  receive(msg('ea', 'alice', 'two, edited', { t: 'edit', of: 'm2' }));
  // Then a flood of alice's own pending reactions and edits, and of mallory's.
  for (let i = 0; i < 200; i++) receive(msg(`ra${i}`, 'alice', '', { t: 'react', of: `made-up-${i}`, emoji: '👍', on: true }));
  for (let i = 0; i < 20; i++) receive(msg(`ea${i}`, 'alice', `made ${i}`, { t: 'edit', of: `made-up-${i}` }));
  for (let i = 0; i < 200; i++) receive(msg(`rm${i}`, 'mallory', '', { t: 'react', of: `made-up-${i}`, emoji: '👍', on: true }));
  assert.deepEqual(rows('delete', 'alice'), ['d1']);
  assert.deepEqual(rows('react', 'bob'), ['rb']);
  // m1 comes: deleted at once, its text gone from the store.
  const m1 = msg('m1', 'alice', 'SECRET');
  const came = receive(m1);
  assert.deepEqual(came.told.map((x) => x.name), ['deleted']);
  assert.equal(history.get(ROOM, 'm1')!.text, '');
  // m2 comes: alice's edit, older than her 20 pending edits, was pushed out (8 kept by arrival).
  receive(msg('m2', 'alice', 'two'));
  assert.equal(actions.stateOf(history.get(ROOM, 'm2')!).edited, undefined);
  // m3 comes: bob's reaction to it, his only pending one, counts.
  receive(msg('rb3', 'bob', '', { t: 'react', of: 'm3', emoji: '🚀', on: true }));
  receive(msg('m3', 'alice', 'three'));
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm3')!).reactions, [{ emoji: '🚀', users: ['bob'] }]);
});

test(`an author's edits of one message past the ${MAX_EDITS_NAMED}th are ignored on receipt; a delete then removes the text of all those kept`, async (t) => {
  const { history, actions, index, rows, receive } = await store(t);
  receive(msg('m', 'alice', 'original'));
  const kept: string[] = [];
  for (let i = 1; i <= MAX_EDITS_NAMED + 6; i++) {
    const e = msg(`e${i}`, 'alice', `SECRET edit ${i}`, { t: 'edit', of: 'm' });
    const { told, dead } = receive(e);
    if (i <= MAX_EDITS_NAMED) {
      kept.push(e.id);
      assert.deepEqual(told.map((x) => x.name), ['edited']);
      assert.deepEqual(dead, []);
    } else {
      assert.deepEqual(told.map((x) => x.name === 'error' && x.e.code), ['request.invalid'], `edit ${i} is refused`);
      assert.deepEqual(dead.map((d) => d.id), [e.id], 'handed back: its held envelope is tombstoned');
    }
  }
  assert.deepEqual(rows('edit', 'alice'), kept, 'not stored');
  assert.equal(actions.stateOf(history.get(ROOM, 'm')!).edited, `SECRET edit ${MAX_EDITS_NAMED}`, 'not shown');
  // Her delete names her edits (at most MAX_EDITS_NAMED): every kept one loses its text.
  const { told, dead } = receive(msg('d', 'alice', '', { t: 'delete', of: 'm', edits: kept }));
  assert.deepEqual(told.map((x) => x.name), ['deleted']);
  assert.deepEqual(dead.map((d) => d.id).sort(), [...kept].sort());
  for (const id of kept) assert.equal(history.get(ROOM, id)!.text, '', `${id} scrubbed`);
  assert.equal(history.get(ROOM, 'm')!.text, '');
  // Edits still coming after the delete (a modified client's) are not kept either.
  const after = receive(msg('e-after', 'alice', 'SECRET after', { t: 'edit', of: 'm' }));
  assert.deepEqual(after.dead.map((d) => d.id), ['e-after']);
  assert.deepEqual(rows('edit', 'alice'), kept);
  await index.warm();
  assert.deepEqual(index.search('SECRET', { limit: 10 }), []);
});

test("a member toggling one emoji on a message for ever keeps only the reaction rows readers read; another member's edit of a message here is not kept", async (t) => {
  const { history, actions, rows, receive } = await store(t);
  receive(msg('m', 'alice', 'ship it?'));
  receive(msg('rb', 'bob', '', { t: 'react', of: 'm', emoji: '👀', on: true }));
  for (let i = 0; i < 3 * MAX_REACTION_ROWS_PER_USER; i++) receive(msg(`t${i}`, 'mallory', '', { t: 'react', of: 'm', emoji: '👍', on: i % 2 === 0 }));
  // Her last toggle put 👍 off: the state is what her newest rows say, and only those are kept.
  assert.equal(rows('react', 'mallory').length, MAX_REACTION_ROWS_PER_USER);
  assert.deepEqual(rows('react', 'mallory'), Array.from({ length: MAX_REACTION_ROWS_PER_USER }, (_, i) => `t${2 * MAX_REACTION_ROWS_PER_USER + i}`));
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm')!).reactions, [{ emoji: '👀', users: ['bob'] }]);
  receive(msg('on', 'mallory', '', { t: 'react', of: 'm', emoji: '👍', on: true }));
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm')!).reactions, [{ emoji: '👀', users: ['bob'] }, { emoji: '👍', users: ['mallory'] }]);
  assert.deepEqual(rows('react', 'bob'), ['rb']);

  // mallory's edit of alice's message: refused as before, and neither kept nor its text held.
  const { told, dead } = receive(msg('em', 'mallory', 'x'.repeat(60_000), { t: 'edit', of: 'm' }));
  assert.deepEqual(told.map((x) => x.name === 'error' && x.e.code), ['message.not_author']);
  assert.deepEqual(dead.map((d) => d.id), ['em']);
  assert.deepEqual(rows('edit', 'mallory'), []);
  assert.equal(actions.stateOf(history.get(ROOM, 'm')!).edited, undefined);
});

test(`deletes naming no message here are kept as a sender's newest ${MAX_PENDING_ACTIONS.delete} by arrival; one kept still removes its message's text when it comes`, async (t) => {
  const { rows, receive, history } = await store(t);
  const deletes: string[] = [];
  for (let i = 0; i < MAX_PENDING_ACTIONS.delete + 100; i++) {
    const d = msg(`d${i}`, 'mallory', '', { t: 'delete', of: `made-up-${i}` });
    deletes.push(d.id);
    assert.deepEqual(receive(d).dead, [], 'a delete carries no text: nothing to tombstone');
  }
  assert.deepEqual(rows('delete', 'mallory'), deletes.slice(-MAX_PENDING_ACTIONS.delete), 'her newest deletes by arrival are kept, no more');
  // Her newest delete names a message of hers that comes only now: shown deleted, its text not kept.
  receive(msg('last', 'mallory', '', { t: 'delete', of: 'late' }));
  const { told } = receive(msg('late', 'mallory', 'the text she deleted'));
  assert.deepEqual(told.map((x) => x.name), ['deleted']);
  assert.equal(history.get(ROOM, 'late')?.text, '');
});
