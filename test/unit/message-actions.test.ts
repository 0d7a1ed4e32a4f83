// Message actions in the store (peer/message-actions.ts over peer/history.ts and a real
// store.db in a temp folder): applied in any arrival order with the author check, reactions
// tallied latest-wins and capped, a delete reseals the target and its edits without text, action
// rows never shown, rows of a store made before the action columns still open, and the search
// index's loader gives current texts only.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER, type MessageAction } from '../../protocol/message-actions.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { tally } from '../../peer/message-actions.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { MIGRATIONS } from '../../peer/store-schema.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const OTHER = 'O'.repeat(43);

const msg = (id: string, from: string, text: string, over: Partial<StoredMessage> = {}) => storedMessage(id, from, { text, ...over });
function act(id: string, from: string, action: MessageAction, text = ''): StoredMessage {
  return msg(id, from, text, { action });
}

test('an edit and a delete apply only when signed by the author, in either arrival order', async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-actions-');
  // Arrived before their target: kept, nothing to tell yet.
  assert.ok(history.add(act('e1', 'alice', { t: 'edit', of: 'm1' }, 'fixed text')));
  assert.deepEqual(actions.applied(history.get(ROOM, 'e1')!, named).told, []);
  assert.ok(history.add(act('x1', 'mallory', { t: 'edit', of: 'm1' }, 'mallory was here')));
  actions.applied(history.get(ROOM, 'x1')!, named);
  const m1 = msg('m1', 'alice', 'typo txet');
  history.add(m1);
  const { deleted, told } = actions.arrived(m1, named);
  assert.equal(deleted, false);
  assert.deepEqual(told.map((x) => x.name).sort(), ['edited', 'error']);
  assert.equal(told.find((x) => x.name === 'error')!.e.code, 'message.not_author');
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm1')!), { reactions: [], deleted: false, edited: 'fixed text' });

  // Target first, then a forged delete: refused with its code, not applied.
  history.add(act('x2', 'mallory', { t: 'delete', of: 'm1' }));
  const refused = actions.applied(history.get(ROOM, 'x2')!, named).told;
  assert.deepEqual(refused.map((x) => [x.name, x.name === 'error' ? x.e.code : '']), [['error', 'message.not_author']]);
  assert.equal(actions.stateOf(history.get(ROOM, 'm1')!).deleted, false);

  // The author's delete: applied; text and the edit's text resealed away.
  history.add(act('d1', 'alice', { t: 'delete', of: 'm1' }));
  assert.deepEqual(actions.applied(history.get(ROOM, 'd1')!, named).told.map((x) => x.name), ['deleted']);
  assert.equal(history.get(ROOM, 'm1')!.text, '');
  assert.equal(history.get(ROOM, 'e1')!.text, '');
  assert.deepEqual(actions.stateOf(history.get(ROOM, 'm1')!), { reactions: [], deleted: true });
  // Pages show the message (deleted) and no action row.
  assert.deepEqual(history.page(ROOM, { limit: 50 }).messages.map((m) => m.id), ['m1']);
});

test('a delete that arrives before its message: the message is stored without its text and told deleted', async (t) => {
  const { history, actions, index } = await storeFixture(t, 'p2p-actions-');
  history.add(act('d1', 'bob', { t: 'delete', of: 'm2' }));
  assert.deepEqual(actions.applied(history.get(ROOM, 'd1')!, named).told, []);
  const m2 = msg('m2', 'bob', 'sent to the wrong room');
  history.add(m2);
  const { deleted, told } = actions.arrived(m2, named);
  assert.equal(deleted, true);
  assert.deepEqual(told.map((x) => x.name), ['deleted']);
  assert.equal(history.get(ROOM, 'm2')!.text, '');
  assert.deepEqual(index.search('wrong', { limit: 10 }), []);
});

test('an action names a message of its own conversation only', async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-actions-');
  history.add(msg('m1', 'alice', 'in general'));
  // The same id in another conversation, by its author: that conversation holds no m1.
  const elsewhere = act('e1', 'alice', { t: 'edit', of: 'm1' }, 'changed from elsewhere');
  history.add({ ...elsewhere, conversation: OTHER });
  assert.deepEqual(actions.applied(history.get(OTHER, 'e1')!, { id: OTHER, name: 'other' }).told, []);
  assert.equal(actions.stateOf(history.get(ROOM, 'm1')!).edited, undefined);
});

test('reactions: the latest per (user, emoji) wins, in the order first given, at most MAX_REACTIONS_PER_MESSAGE emoji', () => {
  const rows = [
    act('r1', 'bob', { t: 'react', of: 'm', emoji: '👍', on: true }),
    act('r2', 'carol', { t: 'react', of: 'm', emoji: '🎉', on: true }),
    act('r3', 'carol', { t: 'react', of: 'm', emoji: '👍', on: true }),
    act('r4', 'bob', { t: 'react', of: 'm', emoji: '👍', on: false }),
    act('r5', 'bob', { t: 'react', of: 'm', emoji: '👍', on: true }),
    act('r6', 'carol', { t: 'react', of: 'm', emoji: '🎉', on: false }),
  ];
  assert.deepEqual(tally(rows), [{ emoji: '👍', users: ['bob', 'carol'] }]);
  // From several members: one member's are capped lower (MAX_REACTIONS_PER_USER, unit/reactions-fair.test.ts).
  const many = Array.from({ length: MAX_REACTIONS_PER_MESSAGE + 5 }, (_, i) => act(`x${i}`, `user${Math.floor(i / MAX_REACTIONS_PER_USER)}`, { t: 'react', of: 'm', emoji: String.fromCodePoint(0x1f600 + i), on: true }));
  const counted = tally(many);
  assert.equal(counted.length, MAX_REACTIONS_PER_MESSAGE);
  assert.equal(counted[0]!.emoji, '😀', 'the oldest are kept');
});

test('rows of a store made before the action columns still open after the migration; action rows are bound to their columns', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-actions-old-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const key = randomBytes(32);
  // A version-1 store with one message, sealed as version 1 sealed it (a StoreDb elsewhere seals the same way).
  const sealer = new StoreDb(join(dir, 'sealer.db'), key);
  const body = sealer.seal('messages', [ROOM, 'old', 'alice', 'S1', 0, 500, 0], JSON.stringify({ text: 'from before' }));
  sealer.close();
  const raw = new sqlite.Database(join(dir, 'store.db'));
  raw.exec(MIGRATIONS[0]!);
  raw.exec('PRAGMA user_version=1');
  raw.run('INSERT INTO messages (conversation, id, sender, session, seq, sent_at, late, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [ROOM, 'old', 'alice', 'S1', 0, 500, 0, body]);
  raw.close();

  const db = new StoreDb(join(dir, 'store.db'), key);
  const history = new History(db);
  assert.deepEqual(history.page(ROOM, { limit: 10 }).messages.map((m) => [m.id, m.text]), [['old', 'from before']]);
  history.add(act('r1', 'bob', { t: 'react', of: 'old', emoji: '👍', on: true }));
  // Moving a reaction to another message (its clear target column) makes its row not open.
  db.transaction(() => db.run(`UPDATE messages SET target = 'other' WHERE id = 'r1'`));
  assert.throws(() => history.get(ROOM, 'r1'), (err: unknown) => (err as { code?: string }).code === 'crypto.decrypt_failed');
  db.close();
});

test('the search loader gives each shown message\'s current text, with its snippet, deleted ones left out', async (t) => {
  const { history, index } = await storeFixture(t, 'p2p-actions-');
  history.add(msg('a', 'alice', 'original wording'));
  history.add(act('ea', 'alice', { t: 'edit', of: 'a' }, 'better wording'));
  history.add(act('ex', 'mallory', { t: 'edit', of: 'a' }, 'forged wording'));
  history.add(msg('b', 'bob', 'gone soon'));
  history.add(act('db', 'bob', { t: 'delete', of: 'b' }));
  history.add(msg('c', 'carol', 'see this', { snippet: { language: 'ts', path: 'src/app.ts', startLine: 1, endLine: 2, code: 'const answer = 42;' } }));
  await index.warm();
  assert.deepEqual(index.search('wording', { limit: 10 }).map((h) => h.id), ['a']);
  assert.deepEqual(index.search('better', { limit: 10 }).map((h) => h.id), ['a']);
  assert.deepEqual(index.search('forged', { limit: 10 }), []);
  assert.deepEqual(index.search('original', { limit: 10 }), []);
  assert.deepEqual(index.search('gone', { limit: 10 }), []);
  assert.deepEqual(index.search('answer app.ts', { limit: 10 }).map((h) => h.id), ['c']);
});

test('read receipts: each sender\'s newest one, of the members asked for', async (t) => {
  const { history } = await storeFixture(t, 'p2p-actions-');
  // The messages they name (a receipt counts once its message is here: unit/read-position.test.ts).
  for (const id of ['m1', 'm2', 'm3']) history.add(msg(id, 'alice', id));
  history.add(act('r1', 'bob', { t: 'read', upTo: 'm1' }));
  history.add(act('r2', 'bob', { t: 'read', upTo: 'm3' }));
  history.add(act('r3', 'carol', { t: 'read', upTo: 'm2' }));
  history.add(act('r4', 'aaron', { t: 'read', upTo: 'm2' }));
  assert.deepEqual(history.reads(ROOM, { users: ['bob', 'carol'], limit: 2 }), [{ user: 'bob', upTo: 'm3' }, { user: 'carol', upTo: 'm2' }]);
  assert.deepEqual(history.reads(ROOM, { limit: 1 }), [{ user: 'aaron', upTo: 'm2' }]);
  assert.deepEqual(history.page(ROOM, { limit: 10 }).messages.map((m) => m.id), ['m1', 'm2', 'm3'], 'receipts are never shown as messages');
});
