// The data folder on disk: keys that are also Object.prototype's property names (issue 7, item 1)
// and temp files left by a crash in the middle of a write (item 14).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DataFolder, type EngineState } from '../../peer/data-folder.ts';
import { removeStaleTemps, STALE_TEMP_MS, writeJsonAsync } from '../../peer/json-file.ts';
import type { PinnedUser } from '../../peer/key-directory.ts';
import type { RoomEvent } from '../../protocol/room-log.ts';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-data-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const pin = (fingerprint: string, verified = false): PinnedUser => ({
  fingerprint,
  verified,
  identity: { signingKey: `sk-${fingerprint}`, encryptionKey: `ek-${fingerprint}`, encryptionKeySig: `sig-${fingerprint}` },
});

/** The pid of a process that has exited (and so is certainly not writing). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('tracker pins and salts under keys named __proto__, constructor and toString are kept and found', async (t) => {
  const dir = await folder(t);
  const data = new DataFolder(dir, false);
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    assert.equal(data.trackerPin(name), undefined, `no pin for ${name} yet (not Object.prototype's)`);
    assert.equal(data.salt(name, ''), undefined);
  }
  data.setTrackerPin('__proto__', 'AA:BB');
  data.setTrackerPin('constructor', 'CC:DD');
  data.setSalt('__proto__', 'x', 'salt-1');
  data.setSalt('host:1', '__proto__', 'salt-2');
  const again = new DataFolder(dir, false);
  assert.equal(again.trackerPin('__proto__'), 'AA:BB');
  assert.equal(again.trackerPin('constructor'), 'CC:DD');
  assert.equal(again.trackerPin('toString'), undefined);
  assert.equal(again.salt('__proto__', 'x'), 'salt-1');
  assert.equal(again.salt('host:1', '__proto__'), 'salt-2');
  again.setTrackerPin('__proto__', undefined);
  assert.equal(new DataFolder(dir, false).trackerPin('__proto__'), undefined);
  assert.equal(new DataFolder(dir, false).trackerPin('constructor'), 'CC:DD');
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(dir, 'known-trackers.json'), 'utf8'))), ['constructor']);
  writeFileSync(join(dir, 'known-trackers.json'), '["AA:BB"]');
  assert.throws(() => again.trackerPin('0'), /known-trackers\.json is damaged/, 'a damaged file is not read as "nothing pinned"');
});

test('state: pins and rooms named __proto__ and constructor survive a write and a read, in the old file format', async (t) => {
  const dir = await folder(t);
  const data = new DataFolder(dir, false);
  const state: EngineState = {
    pins: new Map([['__proto__', pin('P1', true)], ['constructor', pin('C1')], ['alice', pin('A1')]]),
    rooms: new Map([['__proto__', { events: [] }]]),
    inbound: {},
  };
  data.saveState('alice', () => state);
  data.flush();
  // On disk: a JSON object with own keys, the format earlier versions wrote and read.
  const raw = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { pins: Record<string, PinnedUser> };
  assert.deepEqual(Object.keys(raw.pins), ['__proto__', 'constructor', 'alice']);
  const loaded = new DataFolder(dir, false).loadState('alice');
  assert.deepEqual([...loaded.pins.keys()], ['__proto__', 'constructor', 'alice']);
  assert.equal(loaded.pins.get('alice')!.fingerprint, 'A1', "alice's pin is alice's own");
  assert.equal(loaded.pins.get('__proto__')!.verified, true);
  assert.equal(loaded.pins.get('tostring'), undefined);
  assert.deepEqual([...loaded.rooms.keys()], ['__proto__']);
  assert.equal(Object.getPrototypeOf(loaded.pins.get('constructor')), Object.prototype);
});

test('state written by an earlier version (plain objects) loads; a damaged one is refused, not half-trusted', async (t) => {
  const dir = await folder(t);
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ pins: { bob: pin('B1', true) }, rooms: {}, outbound: {}, inbound: {} }));
  const loaded = new DataFolder(dir, false).loadState('alice');
  assert.equal(loaded.pins.get('bob')!.fingerprint, 'B1');
  assert.equal(loaded.pins.get('bob')!.verified, true);

  writeFileSync(join(dir, 'state.json'), '{"pins":{"bob":{"fingerprint":7}}}');
  assert.throws(() => new DataFolder(dir, false).loadState('alice'), /state\.json is damaged/);
  writeFileSync(join(dir, 'state.json'), '{"pins":{"../x":{"fingerprint":"F","verified":false,"identity":{}}}}');
  assert.throws(() => new DataFolder(dir, false).loadState('alice'), /state\.json is damaged/, 'a pin under an invalid user name');
});

test('flush while a background write is under way: the newest state is on disk when flush returns', async (t) => {
  const dir = await folder(t);
  const data = new DataFolder(dir, false);
  const state: EngineState = { pins: new Map([['bob', pin('B1')]]), rooms: new Map(), inbound: {} };
  // The state is built when the batched background write begins: then that write is in flight.
  const started = new Promise<void>((resolve) => data.saveState('alice', () => (resolve(), state)));
  await started;
  data.flush();
  assert.equal(new DataFolder(dir, false).loadState('alice').pins.get('bob')?.fingerprint, 'B1');
  await data.settle();
  assert.equal(new DataFolder(dir, false).loadState('alice').pins.get('bob')?.fingerprint, 'B1');
  assert.deepEqual(readdirSync(dir).sort(), ['state.json'], 'no temp file left behind');
});

test('last-account.json naming a path instead of a user is ignored', async (t) => {
  const dir = await folder(t);
  writeFileSync(join(dir, 'last-account.json'), JSON.stringify({ user: '../../etc' }));
  assert.equal(new DataFolder(dir, true).lastAccount(), undefined);
  writeFileSync(join(dir, 'last-account.json'), JSON.stringify({ user: '__proto__' }));
  assert.equal(new DataFolder(dir, true).lastAccount(), undefined, 'no account saved for that user');
});

test('at start, temp files of dead or old writers are removed; a live writer keeps its temp', async (t) => {
  const dir = await folder(t);
  const user = join(dir, 'alice');
  mkdirSync(user);
  const dead = deadPid();
  const live = process.ppid; // alive for the whole test, and not us
  // What a crash between open and write leaves: an empty temp.
  const stale = [
    join(dir, `salts.json.${dead}.tmp`),
    join(user, `state.json.${dead}.async.tmp`),
    join(user, `account.json.${dead}.tmp`),
  ];
  const old = join(user, `state.json.${live}.async.tmp`);
  const fresh = [join(dir, `known-trackers.json.${live}.tmp`), join(user, `state.json.${process.pid}.async.tmp`)];
  const unrelated = [join(user, 'notes.tmp'), join(user, `state.json.${dead}.bak`), join(user, 'state.json')];
  for (const f of [...stale, old, ...fresh, ...unrelated]) writeFileSync(f, '');
  const longAgo = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  utimesSync(old, longAgo, longAgo);

  const data = new DataFolder(dir, true);
  assert.equal(existsSync(stale[0]), false, 'the root is cleaned when the folder is opened');
  writeFileSync(join(user, 'state.json'), '{}');
  data.loadState('alice');
  for (const f of stale) assert.equal(existsSync(f), false, `${f} removed (its writer is dead)`);
  assert.equal(existsSync(old), false, 'a temp older than any write is removed even if its pid is alive again');
  for (const f of [...fresh, ...unrelated]) assert.equal(existsSync(f), true, `${f} kept`);
});

test('the session journal\'s compaction temp and the extension\'s history temps are cleaned the same way', async (t) => {
  const dir = await folder(t);
  const history = join(dir, 'history');
  mkdirSync(history);
  const dead = deadPid();
  const journalTemp = join(dir, `sessions.jsonl.compact.json.${dead}.tmp`);
  const oldHistory = join(history, '0123456789abcdef0123456789abcdef.history.tmp');
  const freshHistory = join(history, 'fedcba9876543210fedcba9876543210.history.tmp');
  const sealedHistory = join(history, '0123456789abcdef0123456789abcdef.history');
  for (const f of [journalTemp, oldHistory, freshHistory, sealedHistory]) writeFileSync(f, '');
  const longAgo = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  utimesSync(oldHistory, longAgo, longAgo);
  new DataFolder(dir, false).loadState('alice');
  assert.equal(existsSync(journalTemp), false, 'compaction temp of a dead process removed');
  assert.equal(existsSync(oldHistory), false, 'a history temp older than any write removed');
  assert.equal(existsSync(freshHistory), true, 'a young history temp (no pid in its name) may be a write under way: kept');
  assert.equal(existsSync(sealedHistory), true);
});

test('a write that fails leaves no temp file; removeStaleTemps on a missing folder is a no-op', async (t) => {
  const dir = await folder(t);
  const target = join(dir, 'state.json');
  mkdirSync(target); // renaming a file over a folder fails
  await assert.rejects(writeJsonAsync(target, { a: 1 }));
  assert.deepEqual(readdirSync(dir), ['state.json']);
  assert.deepEqual(removeStaleTemps(join(dir, 'missing')), []);
});

test('rooms: state.json keeps only the index; events come from the room files, or from an older state.json that held them', async (t) => {
  const dir = await folder(t);
  const id = 'R'.repeat(43);
  const events = [{ v: 1, room: '', seq: 0, prev: '', type: 'create', actor: 'alice', time: 1, name: 'r', private: false, salt: 's', sig: 'x' }] as unknown as RoomEvent[];
  // The format of earlier versions: the whole log in state.json.
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ pins: {}, rooms: { [id]: { events, proofKey: 'pk' } } }));
  const data = new DataFolder(dir, false);
  const old = data.loadState('alice').rooms.get(id)!;
  assert.deepEqual(old.events, events);
  assert.equal(old.file, 'state.json', 'to be moved to its file (RoomBook.load)');
  data.roomLogs('alice').replace(id, events);
  const state = data.loadState('alice');
  assert.equal(state.rooms.get(id)!.file, 'ok', 'the file holds as much: it is used');
  data.saveState('alice', () => state);
  data.flush();
  const raw = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { rooms: Record<string, unknown> };
  assert.deepEqual(raw.rooms, { [id]: { proofKey: 'pk' } }, 'no events, no load details in state.json');
  const again = new DataFolder(dir, false).loadState('alice').rooms.get(id)!;
  assert.deepEqual(again.events, events);
  assert.equal(again.proofKey, 'pk');
  rmSync(data.roomLogs('alice').pathOf(id));
  assert.equal(new DataFolder(dir, false).loadState('alice').rooms.get(id)!.file, 'missing', 'listed, to be fetched again');
});

test('an old state.json holding outbound chain keys is written again at load, without them', async (t) => {
  const dir = await folder(t);
  const path = join(dir, 'state.json');
  writeFileSync(path, JSON.stringify({ pins: { bob: pin('B1', true) }, rooms: {}, outbound: { room1: { chainKey: 'c2VjcmV0' } }, inbound: {} }));
  const loaded = new DataFolder(dir, false).loadState('alice');
  assert.equal(loaded.pins.get('bob')!.fingerprint, 'B1');
  const onDisk = readFileSync(path, 'utf8');
  assert.doesNotMatch(onDisk, /outbound|chainKey|c2VjcmV0/);
  assert.equal(JSON.parse(onDisk).pins.bob.fingerprint, 'B1', 'the rest is kept');
  assert.equal(new DataFolder(dir, false).loadState('alice').pins.get('bob')!.verified, true);
});
