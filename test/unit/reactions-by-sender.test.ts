// One member's reactions on a message read from their rows only (issue 12: reactions must not slow
// plain messages down): History.actionsOnPerSenderOf gives exactly the rows of that sender that
// actionsOnPerSender (what every member tallies) gives, whatever the other senders hold, and
// MessageActions.reactionsBy opens no other sender's row. Over a real store.db in a temp folder.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MAX_REACTIONS_PER_USER, type MessageAction } from '../../protocol/message-actions.ts';
import { SENDER_COUNTS, takenBySender, type StoredMessage } from '../../peer/history.ts';
import { MAX_REACTION_ROWS, MAX_REACTION_ROWS_PER_USER } from '../../peer/message-actions.ts';
import type { StoreDb } from '../../peer/store-db.ts';
import { ROOM, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

async function store(t: TestContext) {
  const { db, history, actions } = await storeFixture(t, 'p2p-reactions-by-');
  // Counts the rows opened (decrypted), by table.
  const opened = new Map<string, number>();
  const open = db.open.bind(db);
  db.open = (table, identity, sealed) => {
    opened.set(table, (opened.get(table) ?? 0) + 1);
    return open(table, identity, sealed);
  };
  return { db, history, actions, opened };
}

function react(id: string, from: string, emoji: string, on: boolean, at?: number): StoredMessage {
  return storedMessage(id, from, { ...(at !== undefined ? { sentAt: at } : {}), action: { t: 'react', of: 'm', emoji, on } as MessageAction });
}
const face = (i: number) => String.fromCodePoint(0x1f600 + (i % 40));
const ids = (rows: StoredMessage[]) => rows.map((r) => r.id);

/**
 * The rule as one SQL query (what actionsOnPerSender did before it was chosen from the index):
 * each sender's newest `perSender`, round by round (senders by name) until `limit`, in the store order.
 */
function reference(db: StoreDb, perSender: number, limit: number): string[] {
  return db.all(
    `SELECT id FROM (
       SELECT id, sender, session, seq, sent_at, rn FROM (
         SELECT id, sender, session, seq, sent_at, ROW_NUMBER() OVER (PARTITION BY sender ORDER BY sent_at DESC, session DESC, seq DESC) AS rn
         FROM messages WHERE conversation = ? AND target = ? AND kind IN ('react')
       ) WHERE rn <= ? ORDER BY rn, sender LIMIT ?
     ) ORDER BY sent_at, sender, session, seq`,
    [ROOM, 'm', perSender, limit],
  ).map((r) => String(r.id));
}

test("a message's reaction rows, and one sender's of them, are the ones the rule takes, as the per-message limit cuts rounds", async (t) => {
  const { db, history } = await store(t);
  history.add(storedMessage('m', 'alice', { sentAt: 1000, text: 'ship it?' }));
  // Senders with 0..9 rows, names out of order, times interleaved (and some equal) across senders.
  const senders = ['zed', 'bob', 'carol', 'al', 'mallory', 'dave', 'b0b'];
  const many = [9, 3, 7, 1, 9, 5, 2];
  senders.forEach((s, i) => {
    for (let k = 0; k < many[i]!; k++) history.add(react(`${s}${k}`, s, face(k), k % 3 !== 1, 2000 + k * 10 + (i % 3)));
  });
  const check = (what: string) => {
    for (const [perSender, limit] of [[4, 12], [4, 100], [9, 20], [1, 3], [6, 23], [100, 2000], [3, 0]] as const) {
      const all = history.actionsOnPerSender(ROOM, 'm', ['react'], { perSender, limit });
      assert.deepEqual(ids(all), reference(db, perSender, limit), `${what}: all, perSender ${perSender}, limit ${limit}`);
      assert.ok(all.length <= limit);
      for (const s of [...senders, 'nobody']) {
        const mine = history.actionsOnPerSenderOf(ROOM, 'm', ['react'], s, { perSender, limit });
        assert.deepEqual(ids(mine), ids(all.filter((r) => r.from === s)), `${what}: ${s}, perSender ${perSender}, limit ${limit}`);
      }
    }
  };
  check('a few rows (read in one go)');
  // Hundreds more of one sender's: each sender is then counted apart (History SENDER_COUNTS), same rule.
  for (let k = 0; k < 300; k++) history.add(react(`dave-more${k}`, 'dave', face(k), k % 2 === 0, 1500 + k));
  check('many rows (counted per sender)');
});

test('takenBySender: rounds of each sender by name until the limit', () => {
  const counts = new Map([['b', 3], ['a', 1], ['c', 2]]);
  const taken = (limit: number) => ['a', 'b', 'c', 'x'].map((s) => takenBySender(counts, limit).get(s) ?? 0);
  // Rounds: (a1 b1 c1) (b2 c2) (b3).
  assert.deepEqual(taken(100), [1, 3, 2, 0]);
  assert.deepEqual(taken(6), [1, 3, 2, 0]);
  assert.deepEqual(taken(5), [1, 2, 2, 0]);
  assert.deepEqual(taken(4), [1, 2, 1, 0]);
  assert.deepEqual(taken(2), [1, 1, 0, 0]);
  assert.deepEqual(taken(0), [0, 0, 0, 0]);
});

test("reactionsBy opens only that member's rows, however many the others hold, and agrees with the tally's rows", async (t) => {
  const { db, history, actions, opened } = await store(t);
  history.add(storedMessage('m', 'alice', { sentAt: 1000, text: 'ship it?' }));
  // mallory toggles one emoji far past her own bound; bob has a few on; carol has one.
  for (let i = 0; i < MAX_REACTION_ROWS_PER_USER * 3; i++) history.add(react(`x${i}`, 'mallory', '👀', i % 2 === 0));
  for (let i = 0; i < MAX_REACTIONS_PER_USER + 2; i++) history.add(react(`b${i}`, 'bob', face(i), true));
  history.add(react('c0', 'carol', '🎉', true));
  const m = history.get(ROOM, 'm')!;
  opened.clear();
  assert.deepEqual([...actions.reactionsBy(m, 'carol')], ['🎉']);
  assert.equal(opened.get('messages'), 1, "only carol's one row is opened");
  opened.clear();
  assert.equal(actions.reactionsBy(m, 'bob').size, MAX_REACTIONS_PER_USER, 'the per-member cap holds');
  assert.equal(opened.get('messages'), MAX_REACTIONS_PER_USER + 2);
  opened.clear();
  assert.deepEqual([...actions.reactionsBy(m, 'mallory')], [], 'her newest row took it off');
  assert.equal(opened.get('messages'), MAX_REACTION_ROWS_PER_USER, 'her newest rows only, bounded');
  // The same answer the rows every member tallies give.
  const rows = history.actionsOnPerSender(ROOM, 'm', ['react'], { perSender: MAX_REACTION_ROWS_PER_USER, limit: MAX_REACTION_ROWS });
  assert.deepEqual(ids(rows), reference(db, MAX_REACTION_ROWS_PER_USER, MAX_REACTION_ROWS));
  for (const user of ['carol', 'bob', 'mallory', 'nobody']) {
    const theirs = rows.filter((r) => r.from === user);
    assert.deepEqual(ids(history.actionsOnPerSenderOf(ROOM, 'm', ['react'], user, { perSender: MAX_REACTION_ROWS_PER_USER, limit: MAX_REACTION_ROWS })), ids(theirs));
  }
});

test("a sender's actions on a message are counted and found from the index alone (no scan of the conversation, nor of any sender's rows)", async (t) => {
  const { db } = await store(t);
  const plan = (sql: string, values: (string | number)[]) => db.all(`EXPLAIN QUERY PLAN ${sql}`, values).map((r) => String(r.detail)).join('; ');
  // Senders skipped to one by one, each one's rows counted up to the bound: no scan of anyone's rows.
  const counts = plan(SENDER_COUNTS, [ROOM, 'm', 'react', 100]);
  assert.match(counts, /USING COVERING INDEX messages_actions \(conversation=\? AND target=\? AND kind=\? AND sender>\?\)/);
  assert.match(counts, /USING COVERING INDEX messages_actions \(conversation=\? AND target=\? AND kind=\? AND sender=\?\)/);
  assert.doesNotMatch(counts, /SCAN messages|TEMP B-TREE/);
  const theirs = plan(`SELECT body FROM messages WHERE conversation = ? AND target = ? AND kind IN (?) AND sender = ? ORDER BY sent_at DESC, sender DESC, session DESC, seq DESC LIMIT ?`, [ROOM, 'm', 'react', 'bob', 100]);
  assert.match(theirs, /USING INDEX messages_actions \(conversation=\? AND target=\? AND kind=\? AND sender=\?\)/);
  assert.doesNotMatch(theirs, /TEMP B-TREE/, 'read newest first from the index, no sort');
});

test('reaction rows are opened once, then kept: read again they open nothing; a body changed under them is opened and refused as before', async (t) => {
  const { db, history, actions, opened } = await store(t);
  history.add(storedMessage('m', 'alice', { sentAt: 1000, text: 'ship it?' }));
  for (let i = 0; i < 50; i++) history.add(react(`x${i}`, 'mallory', face(i % 3), i % 2 === 0));
  history.add(react('c0', 'carol', '🎉', true));
  history.add(storedMessage('e0', 'alice', { sentAt: 5000, text: 'ship it!', action: { t: 'edit', of: 'm' } }));
  const m = history.get(ROOM, 'm')!;
  const first = actions.stateOf(m);
  assert.deepEqual(first.edited, 'ship it!');
  opened.clear();
  // What was read changed by its reader does not change what is read next.
  const rows = history.actionsOnPerSender(ROOM, 'm', ['react'], { perSender: 100, limit: 2000 });
  (rows[0]!.action as { emoji: string }).emoji = '💥';
  rows[0]!.from = 'eve';
  assert.deepEqual(actions.stateOf(m), first);
  assert.deepEqual([...actions.reactionsBy(m, 'carol')], ['🎉']);
  // Only the edit row is opened again (not a reaction row: an edit's text is never kept).
  assert.deepEqual([...opened.keys()], ['messages']);
  assert.equal(opened.get('messages'), 1, 'no reaction row opened again');
  // Another row's sealed body moved onto carol's row: it is not the body that was opened, so it is opened and refused.
  const other = db.get('SELECT body FROM messages WHERE conversation = ? AND id = ?', [ROOM, 'x1'])!.body!;
  db.run('UPDATE messages SET body = ? WHERE conversation = ? AND id = ?', [other, ROOM, 'c0']);
  assert.throws(() => actions.reactionsBy(m, 'carol'), (e: Error & { code?: string }) => e.code === 'crypto.decrypt_failed');
});
