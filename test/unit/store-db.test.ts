// The store's file handling (peer/store-db.ts) on real files: one writer per file (a live
// process's lock is respected, a dead one's is cleared), a file that is not a store or comes from
// a newer version is refused by name, and the per-turn transaction commits a burst once and
// undoes only the part that threw.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from '../../protocol/crypto.ts';
import { isCoded } from '../../protocol/errors.ts';
import { StoreDb } from '../../peer/store-db.ts';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-store-db-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const metaCount = (db: StoreDb) => Number(db.get('SELECT count(*) AS n FROM meta')!.n);

test('a store open in this process, or held by a live process, is busy; a dead holder\'s lock is cleared', async (t) => {
  const dir = await folder(t);
  const path = join(dir, 'store.db');
  const key = randomBytes(32);
  const db = new StoreDb(path, key);
  assert.throws(() => new StoreDb(path, key), (err) => isCoded(err, 'server.store_busy'));
  db.close();
  // A live process (a sleeping child) is named as the holder.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  mkdirSync(`${path}.lock`);
  writeFileSync(`${path}.owner`, String(child.pid));
  assert.throws(() => new StoreDb(path, key), (err) => isCoded(err, 'server.store_busy') && (err as Error).message.includes(String(child.pid)));
  child.kill('SIGKILL');
  await once(child, 'exit');
  // Now its lock is stale: the open clears it.
  const again = new StoreDb(path, key);
  assert.equal(again.isOpen, true);
  again.close();
});

test('a file that is not a store, or one from a newer version, is refused naming the file', async (t) => {
  const dir = await folder(t);
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not a database, just some text that is long enough to look like a header'.repeat(20));
  assert.throws(() => new StoreDb(junk, randomBytes(32)), (err) => isCoded(err, 'server.store_damaged') && (err as Error).message.includes(junk));
  const newer = join(dir, 'newer.db');
  new StoreDb(newer, randomBytes(32)).close();
  const raw = new sqlite.Database(newer);
  raw.exec('PRAGMA locking_mode=EXCLUSIVE'); // a WAL store opens only so (no shared memory here)
  raw.exec('PRAGMA user_version = 999');
  raw.close();
  assert.throws(() => new StoreDb(newer, randomBytes(32)), (err) => isCoded(err, 'server.store_damaged') && /newer version/.test((err as Error).message));
  // A refused open leaves no lock behind: the file can be opened again once fixed.
  assert.throws(() => new StoreDb(junk, randomBytes(32)), (err) => isCoded(err, 'server.store_damaged'));
  assert.throws(() => new StoreDb(join(dir, 'short.db'), randomBytes(16)), (err) => isCoded(err, 'crypto.bad_key'));
});

test('writes in one turn share one transaction, committed at the turn\'s end; a throw undoes only its own part', async (t) => {
  const dir = await folder(t);
  const path = join(dir, 'store.db');
  const key = randomBytes(32);
  const db = new StoreDb(path, key);
  t.after(() => db.close());
  const before = metaCount(db);
  db.write(() => db.run('INSERT INTO meta(name, value) VALUES (?, ?)', ['a', new Uint8Array([1])]));
  assert.throws(() => db.write(() => {
    db.run('INSERT INTO meta(name, value) VALUES (?, ?)', ['b', new Uint8Array([2])]);
    throw new Error('refused halfway');
  }), /refused halfway/);
  db.write(() => db.run('INSERT INTO meta(name, value) VALUES (?, ?)', ['c', new Uint8Array([3])]));
  const pending = db.committed();
  assert.equal(metaCount(db), before + 2, 'this connection sees its own writes at once');
  await pending;
  // After the commit, a transaction() commits at once, and a nested one joins it.
  db.transaction(() => {
    db.run('INSERT INTO meta(name, value) VALUES (?, ?)', ['d', new Uint8Array([4])]);
    db.transaction(() => db.run('INSERT INTO meta(name, value) VALUES (?, ?)', ['e', new Uint8Array([5])]));
  });
  db.close();
  const reopened = new StoreDb(path, key);
  t.after(() => reopened.close());
  const names = reopened.all("SELECT name FROM meta WHERE name <> 'key-check' ORDER BY name").map((r) => r.name);
  assert.deepEqual(names, ['a', 'c', 'd', 'e']);
});
