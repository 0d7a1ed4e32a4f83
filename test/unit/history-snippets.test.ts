// History.withSnippets: a conversation's newest messages carrying a code snippet, however far back
// (the code threads' feed after a reload), from the messages_snippets index (store-schema.ts step
// 6) over a real sealed store; rows stored before the flag existed are found, opened once and flagged.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { MIGRATIONS } from '../../peer/store-schema.ts';

const ROOM = 'R'.repeat(43);
const OTHER = 'O'.repeat(43);
let seq = 0;
const msg = (id: string, snippet: boolean, conversation = ROOM): StoredMessage => ({
  conversation, id, from: 'bob', session: 'S-bob', seq: ++seq, sentAt: 1000 + seq, text: `message ${id}`,
  ...(snippet ? { snippet: { language: 'ts', path: `src/${id}.ts`, startLine: 1, endLine: 2, code: `call(${id});\nreturn;` } } : {}),
});

async function store(t: TestContext): Promise<{ path: string; key: ReturnType<typeof randomBytes> }> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-snippets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { path: join(dir, 'store.db'), key: randomBytes(32) };
}

/** 3 snippet messages among 600: two of them more than 500 messages back; one in another conversation. */
function fill(history: History): void {
  history.add(msg('old-snippet', true));
  for (let i = 0; i < 300; i++) history.add(msg(`a${i}`, false));
  history.add(msg('mid-snippet', true));
  history.add(msg('elsewhere', true, OTHER));
  for (let i = 0; i < 300; i++) history.add(msg(`b${i}`, false));
  history.add(msg('new-snippet', true));
  history.add(msg('c0', false));
}

test('withSnippets: the newest snippet messages of a conversation, oldest first, however far back; deleted ones not', async (t) => {
  const { path, key } = await store(t);
  const db = new StoreDb(path, key);
  t.after(() => db.close());
  const history = new History(db);
  fill(history);
  // The newest page of 200 (what the feed read) holds only the newest of them.
  assert.deepEqual(history.page(ROOM, { limit: 200 }).messages.filter((m) => m.snippet).map((m) => m.id), ['new-snippet']);
  const ids = (limit: number) => history.withSnippets(ROOM, limit).map((m) => m.id);
  assert.deepEqual(ids(200), ['old-snippet', 'mid-snippet', 'new-snippet']);
  assert.deepEqual(ids(2), ['mid-snippet', 'new-snippet'], 'the newest `limit`');
  assert.equal(history.withSnippets(ROOM, 1)[0]!.snippet!.code, 'call(new-snippet);\nreturn;');
  assert.deepEqual(history.withSnippets(OTHER, 200).map((m) => m.id), ['elsewhere']);
  // A delete scrubs the snippet: no longer listed.
  history.scrub(history.get(ROOM, 'mid-snippet')!);
  assert.deepEqual(ids(200), ['old-snippet', 'new-snippet']);
  assert.throws(() => history.withSnippets(ROOM, 0), /limit/);
});

test('a store from before the snippet flag: its snippet messages are found, and flagged so they are not opened again', async (t) => {
  const { path, key } = await store(t);
  let db = new StoreDb(path, key);
  fill(new History(db));
  await db.committed();
  db.close();
  // Back to the schema before migration 6: no column, no index (nor what later steps added: step
  // 7's tables, step 9's outbox action columns), user_version says 5.
  const before = MIGRATIONS.findIndex((m) => m.includes('messages_snippets'));
  assert.ok(before > 0);
  const raw = new sqlite.Database(path);
  raw.exec('PRAGMA locking_mode=EXCLUSIVE');
  raw.exec(`DROP TABLE sent_sessions; DROP TABLE rejoins_handled; DROP TABLE rejoin_resent; DROP INDEX outbox_actions; ALTER TABLE outbox DROP COLUMN kind; ALTER TABLE outbox DROP COLUMN target; ALTER TABLE outbox DROP COLUMN emoji; DROP INDEX messages_snippets; ALTER TABLE messages DROP COLUMN snippet; PRAGMA user_version = ${before}`);
  raw.close();
  db = new StoreDb(path, key);
  const history = new History(db);
  assert.deepEqual(history.withSnippets(ROOM, 200).map((m) => m.id), ['old-snippet', 'mid-snippet', 'new-snippet']);
  await db.committed();
  db.close();
  const check = new sqlite.Database(path);
  check.exec('PRAGMA locking_mode=EXCLUSIVE');
  const unknown = check.get(`SELECT count(*) AS n FROM messages WHERE conversation = ? AND snippet IS NULL`, [ROOM]) as { n: number };
  const flagged = check.all(`SELECT id FROM messages WHERE conversation = ? AND snippet = 1 ORDER BY sent_at`, [ROOM]) as { id: string }[];
  check.close();
  assert.equal(Number(unknown.n), 0, 'every row read is flagged');
  assert.deepEqual(flagged.map((r) => r.id), ['old-snippet', 'mid-snippet', 'new-snippet']);
  // Reopened: the same answer, from the flags.
  db = new StoreDb(path, key);
  t.after(() => db.close());
  assert.deepEqual(new History(db).withSnippets(ROOM, 200).map((m) => m.id), ['old-snippet', 'mid-snippet', 'new-snippet']);
});
