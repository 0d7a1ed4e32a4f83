// Edits of a deleted message are dead (peer/message-actions.ts deadEdits, over a real store.db in
// a temp folder): a delete whose message never arrived still scrubs its sender's edits of it, an
// edit arriving after its sender's delete is scrubbed at once, another member's edit is never
// named by someone else's delete, and nothing of them is indexed, shown or told.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { MessageAction } from '../../protocol/message-actions.ts';
import type { History, StoredMessage } from '../../peer/history.ts';
import type { MessageActions } from '../../peer/message-actions.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const store = (t: TestContext) => storeFixture(t, 'p2p-dead-edits-');

const msg = (id: string, from: string, text: string, action?: MessageAction): StoredMessage => storedMessage(id, from, { text, ...(action ? { action } : {}) });

/** Stores `m` and applies it as the engine does; returns what it tells. */
function arrive(history: History, actions: MessageActions, m: StoredMessage) {
  assert.ok(history.add(m));
  return m.action ? actions.applied(m, named).told : actions.arrived(m, named).told;
}

test('a delete of a message never received scrubs its sender\'s edits of it; an edit after its delete is dead at once', async (t) => {
  const { history, index, actions } = await store(t);
  // Edit, then delete, of m1 (never here): the edit's text goes with the delete.
  arrive(history, actions, msg('e1', 'alice', 'SECRET one', { t: 'edit', of: 'm1' }));
  const del = msg('d1', 'alice', '', { t: 'delete', of: 'm1' });
  assert.deepEqual(arrive(history, actions, del), []);
  assert.equal(history.get(ROOM, 'e1')!.text, '');
  assert.deepEqual(actions.deadEdits(history.get(ROOM, 'd1')!).map((e) => e.id), ['e1']);
  // Another edit arriving after the delete: dead, scrubbed, nothing told.
  const late = msg('e2', 'alice', 'SECRET two', { t: 'edit', of: 'm1' });
  assert.deepEqual(arrive(history, actions, late), []);
  assert.equal(history.get(ROOM, 'e2')!.text, '');
  assert.deepEqual(actions.deadEdits(history.get(ROOM, 'e2')!).map((e) => e.id), ['e2']);
  // The message arrives last: shown deleted, nothing of its edits told or indexed.
  const told = arrive(history, actions, msg('m1', 'alice', 'original'));
  assert.deepEqual(told.map((x) => x.name), ['deleted']);
  await index.warm();
  assert.deepEqual(index.search('SECRET', { limit: 10 }), []);
  assert.deepEqual([...actions.indexable()].map((m) => m.id), []);
});

test("a delete names only its own sender's edits: another member's edit of the message is not theirs to kill", async (t) => {
  const { history, actions } = await store(t);
  arrive(history, actions, msg('m2', 'alice', 'hello'));
  arrive(history, actions, msg('e3', 'alice', 'hello, world', { t: 'edit', of: 'm2' }));
  // mallory's delete of alice's message is refused, and names none of alice's edits.
  const refused = arrive(history, actions, msg('d2', 'mallory', '', { t: 'delete', of: 'm2' }));
  assert.deepEqual(refused.map((x) => x.name), ['error']);
  assert.deepEqual(actions.deadEdits(history.get(ROOM, 'd2')!), []);
  assert.equal(history.get(ROOM, 'e3')!.text, 'hello, world');
  assert.equal(actions.stateOf(history.get(ROOM, 'm2')!).edited, 'hello, world');
  // A plain message, a reaction or an edit without a delete kills nothing.
  assert.deepEqual(actions.deadEdits(history.get(ROOM, 'm2')!), []);
  assert.deepEqual(actions.deadEdits(history.get(ROOM, 'e3')!), []);
});
