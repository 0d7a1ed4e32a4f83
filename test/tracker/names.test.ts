// Names at the tracker (issue 7, item 11) and the database's file modes (item 12): look-alike
// user and room names are refused by their confusable skeleton (protocol/names.ts), two-letter
// user names are accepted, names of punctuation only are not; names stored before the skeleton
// rule (duplicates included) survive the migration; tracker.db, -wal and -shm are mode 0600.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { eventHash, signRoomEvent } from '../../protocol/room-log.ts';
import { registerUser } from '../helpers/accounts.ts';
import { expectCode } from '../helpers/events.ts';
import { createRoom, onlineMember, reconnectMember, unsignedCreate, appendEvent } from '../helpers/rooms.ts';
import { FAST, connectFor, registerAs, suiteTeardown } from '../helpers/tracker-accounts-extra.ts';
import { FAST_TRACKER_ARGS, restartTracker, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Runs SQL on a stopped tracker's database (node-sqlite3, the tracker's own driver). */
async function sql(path: string, statements: string, ...params: unknown[]): Promise<void> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(path, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    if (params.length) await new Promise<void>((resolve, reject) => db.run(statements, params, (err) => (err ? reject(err) : resolve())));
    else await new Promise<void>((resolve, reject) => db.exec(statements, (err) => (err ? reject(err) : resolve())));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

async function rows<T>(path: string, query: string): Promise<T[]> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    return await new Promise<T[]>((resolve, reject) => db.all(query, (err, r) => (err ? reject(err) : resolve(r as T[]))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

describe('user and room names', () => {
  const scope = suiteTeardown();
  let tracker: TrackerProcess;
  before(async () => {
    tracker = await startTracker(scope.teardown, { args: [...FAST_TRACKER_ARGS] });
  });
  after(() => scope.runAll());

  test('two-character user names register and log in (li, ed)', async (t) => {
    const conn = await connectFor(t, tracker);
    for (const name of ['li', 'ed']) await registerUser(conn, name, FAST);
    const li = await reconnectMember(tracker, 'li');
    assert.equal(li.login.session.user, 'li');
    assert.ok((await li.conn.request('list_peers', {})).peers.some((p) => p.user === 'ed'));
  });

  test('user names of punctuation only are refused: auth.invalid_name', async (t) => {
    const conn = await connectFor(t, tracker);
    for (const user of ['...', '___', '-.', '_-_']) {
      const err = await expectCode(registerAs(conn, { user }), 'auth.invalid_name');
      assert.match(err.message, /letter or digit/);
    }
  });

  test('look-alike user names are refused, naming the existing user: a1ice, alice., rnallory', async (t) => {
    const conn = await connectFor(t, tracker);
    await registerUser(conn, 'alice', FAST);
    await registerUser(conn, 'mallory', FAST);
    await registerUser(conn, 'dora', FAST);
    for (const [user, existing] of [
      ['a1ice', 'alice'],
      ['alice.', 'alice'],
      ['al-ice', 'alice'],
      ['AIice', 'alice'],
      ['rnallory', 'mallory'],
      ['ma11ory', 'mallory'],
      ['_mallory_', 'mallory'],
      ['clora', 'dora'],
      ['c1ora', 'dora'],
    ] as const) {
      const err = await expectCode(registerAs(conn, { user, identityUser: user.toLowerCase() }), 'auth.user_exists');
      assert.match(err.message, new RegExp(`looks too much like the existing user ${existing}`), err.message);
    }
    // Names that only share letters are still free.
    await registerUser(conn, 'alicia', FAST);
    const alicia = await reconnectMember(tracker, 'alicia');
    t.after(() => alicia.conn.close());
    const users = (await alicia.conn.request('list_peers', {})).peers.map((p) => p.user);
    for (const name of ['alice', 'mallory', 'alicia']) assert.ok(users.includes(name), name);
    for (const name of ['a1ice', 'alice.', 'al-ice', 'aiice', 'rnallory', 'ma11ory', '_mallory_']) assert.ok(!users.includes(name), name);
  });

  test('look-alike room names and rooms named by punctuation only are refused; a one-letter room is fine', async () => {
    const owner = await onlineMember(tracker, 'roomer');
    const general = await createRoom(owner, 'general');
    for (const name of ['genera1', 'general_', 'gen.eral', 'gener-al']) {
      const err = await expectCode(createRoom(owner, name), 'room.name_taken');
      assert.match(err.message, /looks too much like the existing room general/);
    }
    await createRoom(owner, 'design');
    const err = await expectCode(createRoom(owner, 'clesign'), 'room.name_taken');
    assert.match(err.message, /looks too much like the existing room design/);
    for (const name of ['-', '...', '_']) {
      const err = await expectCode(createRoom(owner, name), 'request.invalid');
      assert.match(err.message, /letter or digit/);
    }
    await createRoom(owner, 'x');
    // A closed room holds no name: its look-alike may be created afterwards.
    await appendEvent(owner, general, 'close');
    await createRoom(owner, 'genera1');
    await owner.conn.close();
  });
});

test('tracker.db, -wal and -shm are created 0600, and ones an older tracker left readable are narrowed', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  await registerUser(await tracker.connect(), 'modes', FAST);
  const files = ['', '-wal', '-shm'].map((s) => tracker.dbPath + s);
  for (const file of files) {
    assert.ok(existsSync(file), `${file} exists while the tracker runs`);
    assert.equal(modeOf(file).toString(8), '600', file);
  }
  const second = await restartTracker(t, tracker);
  await second.stop();
  for (const file of files) if (existsSync(file)) chmodSync(file, 0o644);
  const third = await startTracker(t, { dir: tracker.dir, args: [...FAST_TRACKER_ARGS] });
  for (const file of files) if (existsSync(file)) assert.equal(modeOf(file).toString(8), '600', `${file} after a restart`);
  await reconnectMember(third, 'modes');
});

test('the skeleton migration keeps look-alike names stored before it: both stay, new look-alikes are refused', async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await onlineMember(first, 'alice');
  const general = await createRoom(alice, 'general');
  // A room that an older tracker let alice create: a look-alike of general, signed by her.
  const legacy = signRoomEvent(unsignedCreate('alice', 'genera1', false), alice.key);
  await alice.conn.close();
  await first.stop();

  // Back to schema 2 (no skeletons), with the look-alikes an older tracker allowed.
  await sql(
    first.dbPath,
    `ALTER TABLE room_events DROP COLUMN received; DROP TABLE known_logins; DROP INDEX users_skeleton; DROP INDEX rooms_open_skeleton;
     ALTER TABLE users DROP COLUMN skeleton; ALTER TABLE rooms DROP COLUMN skeleton;
     INSERT INTO users (name, salt, auth_hash, signing_key, encryption_key, encryption_key_sig, fingerprint, key_blob, created)
       SELECT 'a1ice', salt, auth_hash, signing_key, encryption_key, encryption_key_sig, fingerprint, key_blob, created + 1 FROM users WHERE name = 'alice';
     PRAGMA user_version = 2;`,
  );
  await sql(first.dbPath, 'INSERT INTO rooms (id, name, check_hash, closed, created) VALUES (?, ?, NULL, 0, ?)', eventHash(legacy), 'genera1', legacy.time + 1);
  await sql(first.dbPath, 'INSERT INTO room_events (room, seq, body) VALUES (?, 0, ?)', eventHash(legacy), JSON.stringify(legacy));

  const second = await startTracker(t, { dir: first.dir, args: [...FAST_TRACKER_ARGS] });
  // Migrations 3 (skeletons), 4 (known login addresses), 5 (when events were stored) and 6
  // (skeletons again, with cl/d) ran.
  assert.deepEqual(await rows(first.dbPath, 'PRAGMA user_version'), [{ user_version: 7 }]);
  assert.deepEqual(await rows(first.dbPath, 'SELECT COUNT(*) AS n FROM known_logins'), [{ n: 0 }]);
  // The older of each pair holds the skeleton; the later one is kept, without it.
  assert.deepEqual(await rows(first.dbPath, "SELECT name, skeleton FROM users WHERE name IN ('alice', 'a1ice') ORDER BY name"), [
    { name: 'a1ice', skeleton: null },
    { name: 'alice', skeleton: 'allce' },
  ]);
  assert.deepEqual(await rows(first.dbPath, 'SELECT name, skeleton FROM rooms ORDER BY name'), [
    { name: 'genera1', skeleton: null },
    { name: 'general', skeleton: 'general' },
  ]);
  const back = await reconnectMember(second, 'alice');
  const names = (await back.conn.request('list_rooms', {})).rooms.map((r) => r.name).sort();
  assert.deepEqual(names, ['genera1', 'general']);
  assert.ok((await back.conn.request('list_peers', {})).peers.some((p) => p.user === 'a1ice'));
  await expectCode(registerAs(await second.connect(), { user: 'al1ce' }), 'auth.user_exists');
  await expectCode(createRoom(back, 'gen_eral'), 'room.name_taken');
  // Closing general leaves genera1 open: the name family is still taken.
  await appendEvent(back, general, 'close');
  const err = await expectCode(createRoom(back, 'general'), 'room.name_taken');
  assert.match(err.message, /genera1/);
});

test('migration 6 computes every skeleton again with cl/d folded: of dora and a later clora (and rooms design, clesign) the older holds it, both stay', async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const dora = await onlineMember(first, 'dora');
  const design = await createRoom(dora, 'design');
  // A room that a tracker before the cl/d fold let dora create: a look-alike of design.
  const legacy = signRoomEvent(unsignedCreate('dora', 'clesign', false), dora.key);
  await dora.conn.close();
  await first.stop();

  // Back to schema 5, with the skeletons of then and the look-alikes they allowed.
  await sql(
    first.dbPath,
    `UPDATE users SET skeleton = 'dora' WHERE name = 'dora';
     UPDATE rooms SET skeleton = 'design' WHERE name = 'design';
     INSERT INTO users (name, salt, auth_hash, signing_key, encryption_key, encryption_key_sig, fingerprint, key_blob, created, skeleton)
       SELECT 'clora', salt, auth_hash, signing_key, encryption_key, encryption_key_sig, fingerprint, key_blob, created + 1, 'clora' FROM users WHERE name = 'dora';
     PRAGMA user_version = 5;`,
  );
  await sql(first.dbPath, "INSERT INTO rooms (id, name, check_hash, closed, created, skeleton) VALUES (?, ?, NULL, 0, ?, 'clesign')", eventHash(legacy), 'clesign', legacy.time + 1);
  await sql(first.dbPath, 'INSERT INTO room_events (room, seq, body) VALUES (?, 0, ?)', eventHash(legacy), JSON.stringify(legacy));

  const second = await startTracker(t, { dir: first.dir, args: [...FAST_TRACKER_ARGS] });
  assert.deepEqual(await rows(first.dbPath, 'PRAGMA user_version'), [{ user_version: 7 }]);
  assert.deepEqual(await rows(first.dbPath, "SELECT name, skeleton FROM users WHERE name IN ('dora', 'clora') ORDER BY name"), [
    { name: 'clora', skeleton: null },
    { name: 'dora', skeleton: 'clora' },
  ]);
  assert.deepEqual(await rows(first.dbPath, "SELECT name, skeleton FROM rooms WHERE name IN ('design', 'clesign') ORDER BY name"), [
    { name: 'clesign', skeleton: null },
    { name: 'design', skeleton: 'cleslgn' },
  ]);
  const back = await reconnectMember(second, 'dora');
  const names = (await back.conn.request('list_rooms', {})).rooms.map((r) => r.name).sort();
  assert.deepEqual(names, ['clesign', 'design']);
  assert.ok((await back.conn.request('list_peers', {})).peers.some((p) => p.user === 'clora'));
  // New look-alikes are refused, by the recomputed skeletons.
  const err = await expectCode(registerAs(await second.connect(), { user: 'c1ora' }), 'auth.user_exists');
  assert.match(err.message, /looks too much like the existing user dora/);
  await expectCode(createRoom(back, 'c1esign'), 'room.name_taken');
  await appendEvent(back, design, 'close');
  await expectCode(createRoom(back, 'design'), 'room.name_taken');
});
