// Room logs on disk, one append-only file per room (peer/room-log-store.ts), with a real tracker
// and engines: a room event appends a line and leaves state.json alone (issue 7: join/leave churn
// rewrote every member's whole state.json per event); a restart restores the rooms exactly; a
// damaged file is reported by name and the room fetched again; an older state.json holding whole
// logs is moved to the files.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RoomEvent } from '../../protocol/room-log.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { makeEngine, registered, waitFor, type TestEngine } from '../helpers/engines.ts';

const PASSWORD = 'vault door 42';

/** alice's private room, with bob in it; carol registered but outside. */
async function world(t: Parameters<typeof startTracker>[0]) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  const { id } = await alice.createRoom('vault', { password: PASSWORD });
  const joined = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('vault', PASSWORD);
  await joined;
  return { tracker, alice, bob, carol, id };
}

/** carol joins and leaves once; resolves when bob has seen both. */
async function churn(bob: TestEngine, carol: TestEngine): Promise<void> {
  const joined = waitFor(bob, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('vault', PASSWORD);
  await joined;
  const left = waitFor(bob, 'member_left', (e) => e.user === 'carol');
  await carol.leaveRoom('vault');
  await left;
}

function eventsOf(e: TestEngine, user: string, id: string): RoomEvent[] {
  e.data.flush();
  return e.data.loadState(user).rooms.get(id)?.events ?? [];
}

test('a room event appends one line to the room file and does not rewrite state.json', async (t) => {
  const { bob, carol, id } = await world(t);
  await churn(bob, carol); // bob pins carol's key: state.json changes once, for that
  bob.data.flush();
  const statePath = join(bob.dataDir, 'state.json');
  const roomPath = bob.data.roomLogs('bob').pathOf(id);
  const state = statSync(statePath);
  const stateText = readFileSync(statePath, 'utf8');
  const fileBefore = statSync(roomPath).size;
  const countBefore = eventsOf(bob, 'bob', id).length;

  for (let i = 0; i < 4; i++) await churn(bob, carol);
  bob.data.flush(); // writes anything pending: a state.json write waiting on its timer shows now
  const events = eventsOf(bob, 'bob', id);
  assert.equal(events.length, countBefore + 8);
  const after = statSync(statePath);
  assert.equal(after.mtimeMs, state.mtimeMs, 'state.json not written for 8 room events');
  assert.equal(readFileSync(statePath, 'utf8'), stateText);
  assert.ok(!stateText.includes('"events"'), 'state.json holds no room events');
  // The file grew by exactly the new events' lines: appended, not rewritten.
  const added = events.slice(countBefore).reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
  t.diagnostic(`8 events: room file +${statSync(roomPath).size - fileBefore} bytes (${fileBefore} before); state.json ${after.size} bytes, untouched`);
  assert.equal(statSync(roomPath).size - fileBefore, added);
});

test('a restart restores the rooms exactly, sealed at rest', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const key = Buffer.alloc(32, 7);
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob', { atRestKey: key });
  const carol = await registered(t, tracker, 'carol');
  const { id } = await alice.createRoom('vault', { password: PASSWORD });
  await bob.joinRoom('vault', PASSWORD);
  await churn(bob, carol);
  const before = { rooms: bob.joinedRooms(), events: eventsOf(bob, 'bob', id) };
  assert.ok(!readFileSync(bob.data.roomLogs('bob').pathOf(id), 'utf8').includes('alice'), 'the room file is sealed');
  await bob.close();

  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir, atRestKey: key });
  const errors: string[] = [];
  bob2.on('error', (e) => errors.push(e.message));
  assert.equal(await bob2.resume(), true);
  assert.deepEqual(bob2.joinedRooms(), before.rooms);
  assert.deepEqual(eventsOf(bob2, 'bob', id), before.events);
  assert.deepEqual(errors, []);
  // The private room's proof key came back too: a new join's proof is checked and accepted.
  const joined = waitFor(bob2, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('vault', PASSWORD);
  await joined;
});

test('a damaged room file is reported by name, moved aside, and the log fetched again; a torn last line is dropped', async (t) => {
  const { tracker, alice, bob, carol, id } = await world(t);
  await churn(bob, carol);
  const events = eventsOf(bob, 'bob', id);
  await bob.close();
  const path = bob.data.roomLogs('bob').pathOf(id);
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[2] = lines[2].slice(0, 30);
  writeFileSync(path, lines.join('\n'));

  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const damaged = waitFor(bob2, 'error', (e) => e.message.includes(path));
  assert.equal(await bob2.resume(), true);
  assert.match((await damaged).message, /damaged at line 3.*moved it aside/);
  assert.ok(existsSync(`${path}.damaged`));
  assert.deepEqual(eventsOf(bob2, 'bob', id), events, 'fetched again from the tracker and verified');
  assert.deepEqual(bob2.joinedRooms().map((r) => r.id), [id]);
  // Fetched again with the proof key from the index: carol's join (with its proof) is accepted.
  const joined = waitFor(bob2, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('vault', PASSWORD);
  await joined;
  const now = eventsOf(bob2, 'bob', id);
  await bob2.close();

  // A crash mid-append: a partial last line. It is dropped without complaint, the file rewritten.
  appendFileSync(path, '{"v":1,"room":"');
  const bob3 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const errors: string[] = [];
  bob3.on('error', (e) => errors.push(e.message));
  assert.equal(await bob3.resume(), true);
  assert.deepEqual(eventsOf(bob3, 'bob', id), now);
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'));
  assert.deepEqual(errors, []);
  const hello = waitFor(bob3, 'message', (m) => m.text === 'still here');
  await alice.sendRoom('vault', 'still here');
  await hello;
});

test('an older state.json holding whole room logs is moved to the room files', async (t) => {
  const { tracker, bob, carol, id } = await world(t);
  await churn(bob, carol);
  const events = eventsOf(bob, 'bob', id);
  await bob.close();
  // The format an earlier version wrote: every room's whole log inside state.json.
  const statePath = join(bob.dataDir, 'state.json');
  const old = JSON.parse(readFileSync(statePath, 'utf8')) as { rooms: Record<string, { events?: RoomEvent[]; proofKey?: string }> };
  assert.ok(old.rooms[id].proofKey, 'the private room has its proof key in the index');
  old.rooms[id].events = events;
  writeFileSync(statePath, JSON.stringify(old));
  rmSync(join(bob.dataDir, 'rooms'), { recursive: true });

  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  assert.equal(await bob2.resume(), true);
  bob2.data.flush();
  const now = JSON.parse(readFileSync(statePath, 'utf8')) as typeof old;
  assert.equal(now.rooms[id].events, undefined, 'state.json keeps only the index');
  assert.ok(now.rooms[id].proofKey);
  const file = readFileSync(bob2.data.roomLogs('bob').pathOf(id), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as RoomEvent);
  assert.deepEqual(file, events);
  assert.deepEqual(bob2.joinedRooms().map((r) => r.id), [id]);
  const joined = waitFor(bob2, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('vault', PASSWORD);
  await joined;
});

test('joining a room records it in the index (state.json) even when nothing else changed', async (t) => {
  const { alice, bob, id } = await world(t); // bob has pinned alice by now
  bob.data.flush();
  const { id: second } = await alice.createRoom('second');
  await bob.joinRoom('second');
  bob.data.flush();
  const rooms = JSON.parse(readFileSync(join(bob.dataDir, 'state.json'), 'utf8')).rooms as Record<string, unknown>;
  assert.deepEqual(Object.keys(rooms).sort(), [id, second].sort());
  await bob.leaveRoom('second');
  bob.data.flush();
  const after = JSON.parse(readFileSync(join(bob.dataDir, 'state.json'), 'utf8')).rooms as Record<string, unknown>;
  assert.deepEqual(Object.keys(after), [id], 'a room left leaves the index');
  assert.equal(existsSync(bob.data.roomLogs('bob').pathOf(second)), false, 'and its file goes');
});
