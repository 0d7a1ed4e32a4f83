// Issue 8: the palette's "Join Room" (extension/join-room.ts) with a real tracker, real engines
// and the extension's ChatModel. One join makes at most one `list_rooms` request (counted where
// requests leave the engine for the tracker), the directory stays live from the tracker's pushes
// (a room another user creates appears with nothing asked), and a room closed and created again
// under the same name is joined by the new room's id. The engine fetches the whole directory at
// each sign-in and resume (one paged `list_rooms`) and replaces its own with it: a user signing in
// after rooms were made sees them, and a room deleted while the tracker was down is not offered.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { HostToView } from '../../protocol/view.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import type { HistorySource } from '../../extension/timelines.ts';
import { joinableRooms, joinFromPalette, type JoinPrompts } from '../../extension/join-room.ts';
import { allowErrors, registered, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, restartTracker, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt } from '../helpers/chat-model-scene.ts';

const SLOW = { timeout: 120_000 };
const NO_HISTORY: HistorySource = { page: async () => ({ items: [], more: false, newer: false }) };

/** Counts the requests the engine sends to the tracker, by type (the tracker session's one door). */
function countRequests(engine: ChatEngine): Map<string, number> {
  const counts = new Map<string, number>();
  const session = (engine as unknown as { tracker: { request: (type: string, params: unknown) => Promise<unknown> } }).tracker;
  const real = session.request.bind(session);
  session.request = (type, params) => {
    counts.set(type, (counts.get(type) ?? 0) + 1);
    return real(type, params);
  };
  return counts;
}

function modelFor(engine: ChatEngine, tracker: { host: string; port: number }): { model: ChatModel; posts: HostToView[] } {
  const posts: HostToView[] = [];
  const model: ChatModel = new ChatModel({ post: (m) => posts.push(m), attention: () => lookingAt(model.openKey), notify: () => {} }, `${tracker.host}:${tracker.port}`);
  model.attach(engine);
  return { model, posts };
}

/** Picks the room called `name` (as a user would in the QuickPick); remembers what was offered. */
function picking(name: string, password?: string): JoinPrompts & { offered: string[] } {
  const offered: string[] = [];
  return {
    offered,
    none: () => assert.fail('there were rooms to join'),
    pick: async (rooms) => {
      offered.push(...rooms.map((r) => r.name));
      return rooms.find((r) => r.name === name);
    },
    password: async () => password,
  };
}

/** Resolves once `engine`'s directory lists a room `pred` accepts. */
async function directoryHas(engine: ChatEngine, pred: (r: ReturnType<ChatEngine['directory']>[number]) => boolean): Promise<void> {
  if (engine.directory().some(pred)) return;
  await waitFor(engine, 'directory_changed', (e) => e.rooms.some(pred), 30_000);
}

test('one palette Join Room makes at most one list_rooms request, and joins by id', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  await alice.createRoom('general');
  await alice.createRoom('random', { password: 'open sesame' });
  const { model, posts } = modelFor(bob, tracker);
  await model.signedIn(bob, NO_HISTORY);
  await directoryHas(bob, (r) => r.name === 'random');

  const counts = countRequests(bob);
  posts.length = 0;
  const prompts = picking('general');
  const aliceSaw = waitFor(alice, 'member_joined', (e) => e.room === 'general' && e.user === 'bob', 30_000);
  const joined = await joinFromPalette(bob, model, prompts);
  assert.ok(joined);
  assert.deepEqual(prompts.offered.sort(), ['general', 'random']);
  // A marker after the join: alice sees bob join and writes; once bob has it, anything the join
  // set off (a notice, a directory refresh) has happened.
  assert.equal((await aliceSaw).roomId, joined.id);
  const marker = waitFor(bob, 'message', (e) => e.text === 'marker', 30_000);
  await alice.sendRoom(joined.id, 'marker');
  await marker;
  const listRooms = counts.get('list_rooms') ?? 0;
  console.log(`palette join: list_rooms=${listRooms}, requests=${JSON.stringify(Object.fromEntries(counts))}, posts=${posts.map((p) => p.type).join(',')}`);
  assert.ok(listRooms <= 1, `list_rooms requests: ${listRooms}`);
  assert.equal(model.openKey, joined.id);
  assert.ok(model.roomItems().some((r) => r.key === joined.id && r.title === 'general'));
  assert.ok(posts.some((p) => p.type === 'timeline/added' && p.key === joined.id), 'the marker reached the joined room by its id');

  // A private room: the password prompt, and still no list_rooms (the directory is the engine's).
  const prompts2 = picking('random', 'open sesame');
  assert.ok(await joinFromPalette(bob, model, prompts2));
  assert.deepEqual(prompts2.offered, ['random'], 'general is joined already');
  assert.equal(counts.get('list_rooms') ?? 0, 0);
});

test('a user signing in after rooms were made sees them in the view and the palette', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  await alice.createRoom('general');
  await alice.createRoom('random');
  const bob = await registered(t, tracker, 'bob');
  const counts = countRequests(bob);
  const { model } = modelFor(bob, tracker);
  await model.signedIn(bob, NO_HISTORY);
  assert.deepEqual(model.snapshot().directory.map((r) => r.name).sort(), ['general', 'random'], 'the view lists them at sign-in');

  // Once bob is in a room of his own, the palette still offers alice's rooms, from the directory.
  const mine = await bob.createRoom('mine');
  await directoryHas(bob, (r) => r.id === mine.id);
  assert.deepEqual((await joinableRooms(bob)).map((r) => r.name), ['general', 'random']);
  assert.equal(counts.get('list_rooms') ?? 0, 0, 'nothing was asked of the tracker after sign-in');
});

test('a room the admin deleted while the tracker was down, then made again, is offered once, by its new id', SLOW, async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, first, 'alice');
  const bob = await registered(t, first, 'bob');
  // The tracker goes away under them, and alice's room with it.
  allowErrors(alice, () => true);
  allowErrors(bob, () => true);
  const old = await alice.createRoom('reused');
  await directoryHas(bob, (r) => r.id === old.id);
  const { model } = modelFor(bob, first);
  await model.signedIn(bob, NO_HISTORY);

  const replaced = waitFor(bob, 'directory_changed', (e) => !e.rooms.some((r) => r.id === old.id), 60_000);
  const aliceBack = waitFor(alice, 'connection', (c) => c.state === 'online', 60_000);
  await first.stop();
  const { stdout } = await promisify(execFile)(process.execPath, ['tracker', 'rooms', 'delete', 'reused', '--db', first.dbPath], { cwd: REPO_ROOT });
  assert.match(stdout, /reused/);
  await restartTracker(t, first, { args: [...FAST_TRACKER_ARGS, '--port', String(first.port)] });
  await replaced;
  assert.deepEqual(model.snapshot().directory.filter((r) => r.name === 'reused'), [], 'the deleted room left the view');
  await aliceBack;

  const fresh = await alice.createRoom('reused');
  await directoryHas(bob, (r) => r.id === fresh.id);
  assert.deepEqual((await joinableRooms(bob)).map((r) => r.id), [fresh.id]);
  assert.deepEqual(model.snapshot().directory.filter((r) => r.name === 'reused').map((r) => r.id), [fresh.id]);
  const joined = await joinFromPalette(bob, model, picking('reused'));
  assert.equal(joined?.id, fresh.id);
});

test('the directory stays live from pushes: a room another user creates appears without asking', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const { model, posts } = modelFor(bob, tracker);
  await model.signedIn(bob, NO_HISTORY);
  const counts = countRequests(bob);
  assert.equal(model.snapshot().directory.some((r) => r.name === 'fresh'), false);

  // The model listens before this waiter, so when the engine's event resolves it the model has posted.
  const pushed = waitFor(bob, 'directory_changed', (e) => e.rooms.some((r) => r.name === 'fresh'), 30_000);
  const created = await alice.createRoom('fresh');
  await pushed;
  const post = posts.filter((p) => p.type === 'directory/changed').at(-1);
  assert.ok(post?.type === 'directory/changed' && post.directory.some((r) => r.id === created.id && !r.member), 'the view was told');
  const room = model.snapshot().directory.find((r) => r.name === 'fresh');
  assert.deepEqual(room && { id: room.id, member: room.member }, { id: created.id, member: false });
  assert.equal(counts.get('list_rooms') ?? 0, 0, 'nothing was asked of the tracker');
});

test('a room closed and created again under its name is joined by the new id', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const { model } = modelFor(bob, tracker);
  await model.signedIn(bob, NO_HISTORY);
  const first = await alice.createRoom('reused');
  await alice.closeRoom(first.id);
  const second = await alice.createRoom('reused');
  assert.notEqual(second.id, first.id);
  await directoryHas(bob, (r) => r.id === second.id);
  assert.deepEqual(model.snapshot().directory.filter((r) => r.name === 'reused').map((r) => r.id), [second.id], 'the closed room is not offered');
  const joined = await joinFromPalette(bob, model, picking('reused'));
  assert.equal(joined?.id, second.id);
  assert.ok(model.roomItems().some((r) => r.key === second.id));
  assert.equal(model.roomItems().some((r) => r.key === first.id), false);
});
