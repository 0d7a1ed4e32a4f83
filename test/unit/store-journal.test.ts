// A transaction cut off by a kill leaves a hot rollback journal. node-sqlite3-wasm's file layer
// never reports such a journal as hot (its own lock folder answers "reserved"), so the store rolls
// it back itself (peer/store-journal.ts) before SQLite reads a page. Made here for real: a
// transaction with a one-page cache spills its changed pages into the database file before any
// commit, and the files are copied as a kill would leave them.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pkg from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import { rollBackHotJournal } from '../../peer/store-journal.ts';
import { StoreDb } from '../../peer/store-db.ts';

const { Database } = pkg;

function folder(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-store-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A database of 400 rows, then a transaction rewriting them all, cut off before its commit: the files as a kill leaves them, in `into`. */
function cutOffTransaction(dir: string, into: string): void {
  const path = join(dir, 'live.db');
  const db = new Database(path);
  db.exec('PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=OFF; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  db.exec('BEGIN');
  for (let i = 0; i < 400; i++) db.run('INSERT INTO t (id, v) VALUES (?, ?)', [i, `before ${i} ${'x'.repeat(300)}`]);
  db.exec('COMMIT');
  db.exec('PRAGMA cache_size=1');
  db.exec('BEGIN');
  for (let i = 0; i < 400; i++) db.run('UPDATE t SET v = ? WHERE id = ?', [`after ${i} ${'y'.repeat(600)}`, i]);
  // Spilled: the database file already holds some new pages; the journal holds the old ones.
  assert.ok(statSync(`${path}-journal`).size > 0, 'a journal with the pages before the transaction');
  copyFileSync(path, join(into, 'store.db'));
  copyFileSync(`${path}-journal`, join(into, 'store.db-journal'));
  db.exec('ROLLBACK');
  db.close();
}

test('a transaction cut off by a kill is rolled back from its journal: every row as before it, the file intact', (t) => {
  const dir = folder(t);
  const target = mkdtempSync(join(dir, 'cut-'));
  cutOffTransaction(dir, target);
  const path = join(target, 'store.db');
  // Without the rollback, SQLite through this file layer reads the half-written file as it is.
  const plain = join(mkdtempSync(join(dir, 'plain-')), 'store.db');
  copyFileSync(path, plain);
  copyFileSync(`${path}-journal`, `${plain}-journal`);
  const unrolled = new Database(plain);
  let damagedWithout = false;
  try {
    const rows = unrolled.all('SELECT v FROM t') as { v: string }[];
    damagedWithout = rows.some((r) => r.v.startsWith('after')) || (unrolled.get('PRAGMA integrity_check') as { integrity_check: string }).integrity_check !== 'ok';
  } catch {
    damagedWithout = true;
  }
  unrolled.close();
  assert.ok(damagedWithout, 'the cut-off transaction is visible (or the file malformed) when the journal is not played back');

  assert.ok(rollBackHotJournal(path) > 0, 'pages were restored');
  assert.equal(statSync(`${path}-journal`).size, 0, 'the journal is emptied');
  const db = new Database(path);
  t.after(() => db.close());
  assert.equal((db.get('PRAGMA integrity_check') as { integrity_check: string }).integrity_check, 'ok');
  const rows = db.all('SELECT id, v FROM t ORDER BY id') as { id: number; v: string }[];
  assert.equal(rows.length, 400);
  assert.ok(rows.every((r) => r.v.startsWith(`before ${r.id} `)), 'every row as it was before the transaction');
});

test('no journal: nothing is touched', (t) => {
  const dir = folder(t);
  const path = join(dir, 'store.db');
  const db = new StoreDb(path, randomBytes(32));
  db.close();
  const before = statSync(path).size;
  assert.equal(rollBackHotJournal(path), 0);
  assert.equal(existsSync(`${path}-journal`) ? statSync(`${path}-journal`).size : 0, 0);
  assert.equal(statSync(path).size, before);
});
