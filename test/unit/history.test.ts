// History in the engine's store (peer/history.ts over peer/store-db.ts), on real files in a temp
// folder: one deterministic order with paging from the newest backwards, late arrivals placed and
// marked, duplicates refused, content sealed at rest and bound to its row, nothing lost on reopen.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import { isCoded } from '../../protocol/errors.ts';
import { DataFolder } from '../../peer/data-folder.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { StoreDb } from '../../peer/store-db.ts';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-history-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function open(dir: string, key: Buffer): { db: StoreDb; history: History } {
  const db = new StoreDb(join(dir, 'store.db'), key);
  return { db, history: new History(db) };
}

const ROOM = 'R'.repeat(43);
const msg = (over: Partial<StoredMessage> & { id: string }): StoredMessage =>
  ({ conversation: ROOM, from: 'alice', session: 'S1', seq: 0, sentAt: 1000, text: `text of ${over.id}`, ...over });

/** The order every member shows: (sentAt, from, session, seq), strings by their bytes. */
function byOrder(a: StoredMessage, b: StoredMessage): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return a.sentAt - b.sentAt || cmp(a.from, b.from) || cmp(a.session, b.session) || a.seq - b.seq;
}

/**
 * A store of 60 messages of three senders with ties on sentAt and on sender, added in a scrambled
 * order; `expected` is their ids in the timeline order.
 */
async function sixty(t: TestContext): Promise<{ history: History; expected: string[] }> {
  const dir = await folder(t);
  const { db, history } = open(dir, randomBytes(32));
  t.after(() => db.close());
  const senders = ['bob', 'alice', 'carol'];
  const all = Array.from({ length: 60 }, (_, i) => msg({ id: `m${i}`, from: senders[i % 3]!, session: i % 2 ? 'S2' : 'S1', seq: i, sentAt: 1000 + Math.floor(i / 4) }));
  for (const m of [...all].sort((a, b) => ((a.seq * 37) % 61) - ((b.seq * 37) % 61))) assert.ok(history.add(m));
  return { history, expected: [...all].sort(byOrder).map((m) => m.id) };
}

test('pages go from the newest backwards in one order (sentAt, from, session, seq), oldest first within a page', async (t) => {
  const { history, expected } = await sixty(t);

  const newest = history.page(ROOM, { limit: 7 });
  assert.deepEqual(newest.messages.map((m) => m.id), expected.slice(-7));
  assert.equal(newest.more, true);

  const seen: string[] = [];
  let before: string | undefined;
  for (;;) {
    const page = history.page(ROOM, before === undefined ? { limit: 7 } : { before, limit: 7 });
    seen.unshift(...page.messages.map((m) => m.id));
    if (!page.more) break;
    before = page.messages[0]!.id;
  }
  assert.deepEqual(seen, expected);
  assert.equal(history.count(ROOM), 60);
  // A page of exactly what is left says there is no more.
  const last = history.page(ROOM, { before: expected[7]!, limit: 7 });
  assert.deepEqual(last.messages.map((m) => m.id), expected.slice(0, 7));
  assert.equal(last.more, false);
  assert.deepEqual(history.page('R'.repeat(42) + 'x', { limit: 5 }), { messages: [], more: false, newer: false });
});

test('a page around a message (a jump to it) and pages after it go forward in the same order to the newest', async (t) => {
  const { history, expected } = await sixty(t);
  const ids = (p: { messages: StoredMessage[] }) => p.messages.map((m) => m.id);

  // Around the 21st: 3 before it, it, 3 after it (a page of 7), with more on both sides.
  const around = history.page(ROOM, { around: expected[20]!, limit: 7 });
  assert.deepEqual(ids(around), expected.slice(17, 24));
  assert.deepEqual([around.more, around.newer], [true, true]);
  // Forward from there, page by page, to the newest: nothing skipped, nothing twice.
  const seen = ids(around);
  let after = seen.at(-1)!;
  for (;;) {
    const page = history.page(ROOM, { after, limit: 7 });
    assert.equal(page.more, true, 'older messages exist before a page after a message');
    seen.push(...ids(page));
    if (!page.newer) break;
    after = seen.at(-1)!;
  }
  assert.deepEqual(seen, expected.slice(17));
  // Near the ends: a whole page still, the other side filling in, and no more on the near side.
  const first = history.page(ROOM, { around: expected[1]!, limit: 7 });
  assert.deepEqual([ids(first), first.more, first.newer], [expected.slice(0, 7), false, true]);
  const last = history.page(ROOM, { around: expected[59]!, limit: 7 });
  assert.deepEqual([ids(last), last.more, last.newer], [expected.slice(53), true, false]);
  const short = history.page(ROOM, { around: expected[30]!, limit: 500 });
  assert.deepEqual([ids(short), short.more, short.newer], [expected, false, false], 'a page larger than the conversation holds it all');
  assert.deepEqual(ids(history.page(ROOM, { after: expected[59]!, limit: 7 })), []);
  // The newest page and pages before a message have nothing newer only at the end.
  assert.equal(history.page(ROOM, { limit: 7 }).newer, false);
  assert.equal(history.page(ROOM, { before: expected[30]!, limit: 7 }).newer, true);
  // One cursor at a time, and only a message of this conversation.
  for (const opts of [{ around: 'nope', limit: 5 }, { after: 'nope', limit: 5 }, { before: expected[3]!, after: expected[5]!, limit: 5 }, { around: expected[3]!, after: expected[5]!, limit: 5 }]) {
    assert.throws(() => history.page(ROOM, opts), (err) => isCoded(err, 'request.invalid'), JSON.stringify(opts));
  }
});

test('a message that arrives after a later one is placed where it belongs and marked late, also after a reopen', async (t) => {
  const dir = await folder(t);
  const key = randomBytes(32);
  let { db, history } = open(dir, key);
  history.add(msg({ id: 'a', sentAt: 100, seq: 0 }));
  history.add(msg({ id: 'c', sentAt: 300, seq: 2 }));
  assert.deepEqual(history.add(msg({ id: 'b', sentAt: 200, seq: 1 })), { late: true }, 'add says what it stored');
  history.add(msg({ id: 'd', sentAt: 400, seq: 3, late: true })); // a caller's `late` is not trusted
  history.add(msg({ id: 'e', from: 'aaron', sentAt: 300, seq: 0, session: 'S9' })); // before c: same time, smaller name
  await db.committed();
  db.close();
  ({ db, history } = open(dir, key));
  t.after(() => db.close());
  const page = history.page(ROOM, { limit: 10 }).messages;
  assert.deepEqual(page.map((m) => [m.id, m.late === true]), [['a', false], ['b', true], ['e', true], ['c', false], ['d', false]]);
  assert.equal(history.get(ROOM, 'b')!.late, true);
  assert.equal(history.get(ROOM, 'a')!.late, undefined);
});

test('duplicates by (from, session, seq) or by id are refused and change nothing', async (t) => {
  const dir = await folder(t);
  const { db, history } = open(dir, randomBytes(32));
  t.after(() => db.close());
  assert.ok(history.add(msg({ id: 'x', seq: 5, text: 'first' })));
  assert.equal(history.add(msg({ id: 'y', seq: 5, text: 'replayed under a new id' })), false);
  assert.equal(history.add(msg({ id: 'x', seq: 6, text: 'same id, new seq' })), false);
  assert.equal(history.add(msg({ id: 'x', seq: 5, text: 'first' })), false);
  // The same ids in another conversation are another message.
  assert.deepEqual(history.add(msg({ conversation: 'dm:alice:bob', id: 'x', seq: 5 })), { late: false });
  assert.equal(history.count(ROOM), 1);
  assert.equal(history.get(ROOM, 'x')!.text, 'first');
  assert.equal(history.get(ROOM, 'y'), undefined);
  assert.equal(history.has(ROOM, 'alice', 'S1', 5), true);
  assert.equal(history.has(ROOM, 'alice', 'S1', 6), false);
});

test('an unknown `before`, a bad limit or a message of the wrong shape is refused as request.invalid', async (t) => {
  const dir = await folder(t);
  const { db, history } = open(dir, randomBytes(32));
  t.after(() => db.close());
  history.add(msg({ id: 'x' }));
  for (const opts of [{ before: 'nope', limit: 5 }, { limit: 0 }, { limit: 501 }, { limit: 1.5 }]) {
    assert.throws(() => history.page(ROOM, opts), (err) => isCoded(err, 'request.invalid'), JSON.stringify(opts));
  }
  assert.throws(() => history.add(msg({ id: 'y', from: '../etc' })), (err) => isCoded(err, 'request.invalid'));
  assert.throws(() => history.add(msg({ id: 'z', seq: -1 })), (err) => isCoded(err, 'request.invalid'));
  assert.throws(() => history.add(msg({ id: 'w', text: 'x'.repeat(70_000) })), (err) => isCoded(err, 'request.invalid'));
  assert.equal(history.count(ROOM), 1);
});

test('text and snippets are sealed at rest: the raw files hold neither, and a row keeps them after a reopen', async (t) => {
  const dir = await folder(t);
  const key = randomBytes(32);
  let { db, history } = open(dir, key);
  const text = 'the launch code is swordfish-7731';
  const code = 'function leakedSecretFunction() { return 42; }';
  const snippet = { language: 'ts', path: 'src/secret-plan.ts', startLine: 3, endLine: 5, code };
  history.add(msg({ id: 'sealed', text, snippet }));
  await db.committed();
  // Before the close too: what sits in the file while the engine runs.
  const grepAll = (needle: string) => readdirSync(dir, { withFileTypes: true }).some((e) => e.isFile() && readFileSync(join(dir, e.name)).includes(needle));
  for (const needle of [text, code, 'secret-plan', 'swordfish']) assert.equal(grepAll(needle), false, needle);
  db.close();
  for (const needle of [text, code, 'secret-plan', 'swordfish']) assert.equal(grepAll(needle), false, needle);
  ({ db, history } = open(dir, key));
  t.after(() => db.close());
  assert.deepEqual(history.get(ROOM, 'sealed'), { conversation: ROOM, id: 'sealed', from: 'alice', session: 'S1', seq: 0, sentAt: 1000, text, snippet });
});

test('a sealed body moved to another row, or a changed index column, does not open', async (t) => {
  const dir = await folder(t);
  const key = randomBytes(32);
  let { db, history } = open(dir, key);
  history.add(msg({ id: 'one', seq: 1, text: 'I said yes' }));
  history.add(msg({ id: 'two', seq: 2, text: 'I said no' }));
  history.add(msg({ id: 'three', seq: 3, text: 'untouched' }));
  db.close();
  // Another program with the file: swap the two bodies, and move a third row in time.
  const raw = new sqlite.Database(join(dir, 'store.db'));
  raw.exec('PRAGMA locking_mode=EXCLUSIVE'); // a WAL store opens only so (no shared memory here)
  const one = raw.get('SELECT body FROM messages WHERE id = ?', ['one'])!.body as Uint8Array;
  const two = raw.get('SELECT body FROM messages WHERE id = ?', ['two'])!.body as Uint8Array;
  raw.run('UPDATE messages SET body = ? WHERE id = ?', [two, 'one']);
  raw.run('UPDATE messages SET body = ? WHERE id = ?', [one, 'two']);
  raw.run('UPDATE messages SET sent_at = 1 WHERE id = ?', ['three']);
  raw.close();
  ({ db, history } = open(dir, key));
  t.after(() => db.close());
  for (const id of ['one', 'two', 'three']) {
    assert.throws(() => history.get(ROOM, id), (err) => isCoded(err, 'crypto.decrypt_failed'), id);
  }
  assert.throws(() => history.page(ROOM, { limit: 10 }), (err) => isCoded(err, 'crypto.decrypt_failed'));
});

test('forget removes one conversation and leaves the others', async (t) => {
  const dir = await folder(t);
  const key = randomBytes(32);
  let { db, history } = open(dir, key);
  for (let i = 0; i < 5; i++) history.add(msg({ id: `r${i}`, seq: i }));
  for (let i = 0; i < 3; i++) history.add(msg({ conversation: 'dm:alice:bob', id: `d${i}`, seq: i }));
  assert.equal(history.forget(ROOM), 5);
  await db.committed();
  db.close();
  ({ db, history } = open(dir, key));
  t.after(() => db.close());
  assert.equal(history.count(ROOM), 0);
  assert.deepEqual(history.page('dm:alice:bob', { limit: 10 }).messages.map((m) => m.id), ['d0', 'd1', 'd2']);
});

test('DataFolder.openStore: store.db beside a 0600 at-rest.key made on first use and used again; a damaged key is named', async (t) => {
  const dir = await folder(t);
  const data = new DataFolder(dir, true);
  let store = data.openStore('alice');
  store.history.add(msg({ id: 'kept', text: 'kept across opens' }));
  store.db.close();
  assert.deepEqual(readdirSync(join(dir, 'alice')).sort(), ['at-rest.key', 'store.db'].sort());
  const keyPath = join(dir, 'alice', 'at-rest.key');
  assert.equal(readFileSync(keyPath).length, 32);
  assert.equal(statSync(keyPath).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'alice', 'store.db')).mode & 0o777, 0o600);
  store = new DataFolder(dir, true).openStore('alice');
  assert.equal(store.history.get(ROOM, 'kept')!.text, 'kept across opens');
  store.db.close();
  // A store opened with another key (VS Code's SecretStorage key, say) is refused, not misread.
  assert.throws(() => new DataFolder(dir, true, randomBytes(32)).openStore('alice'), (err) => isCoded(err, 'crypto.decrypt_failed') && /another at-rest key/.test((err as Error).message));
  writeFileSync(keyPath, 'short');
  assert.throws(() => new DataFolder(dir, true).openStore('alice'), (err) => isCoded(err, 'server.store_damaged') && (err as Error).message.includes(keyPath));
  assert.equal(readFileSync(keyPath, 'utf8'), 'short', 'a damaged key file is never replaced');
  // With a key given (VS Code), no key file is made.
  new DataFolder(dir, true, randomBytes(32)).openStore('bob').db.close();
  assert.equal(readdirSync(join(dir, 'bob')).includes('at-rest.key'), false);
});
