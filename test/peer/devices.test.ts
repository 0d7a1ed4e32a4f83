// One user on several devices (each a data folder with its own id, one identity), with real
// engines, a real tracker and real links: every device gets every message once, what I send from
// one device shows on the others as mine, a device away catches up when it is back (also on a new
// port), and logging out everywhere ends every device.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientEvents } from '../../protocol/client.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, collect, makeEngine, roomOf, waitFor, messagesShown, type TestEngine } from '../helpers/engines.ts';

type Shown = ClientEvents['message'];


/** A second device of `user`: a new data folder, logged in with the password (its keys come from the tracker). */
async function secondDevice(t: Parameters<typeof makeEngine>[0], tracker: { host: string; port: number }, user: string): Promise<TestEngine> {
  const engine = await makeEngine(t, tracker);
  await engine.login(user, PASSWORD);
  return engine;
}

/** Resolves once `watcher` lists `count` devices of `user` (its tracker answers in order, after the presence it pushed). */
async function devicesSeen(watcher: TestEngine, user: string, count: number): Promise<void> {
  const row = (await watcher.listPeers()).find((p) => p.user === user);
  assert.equal(row?.devices?.length ?? 0, count, `${watcher.user} sees ${count} device(s) of ${user}`);
}

test('two devices of alice online at once each get 100 room messages and 20 direct ones exactly once, in order; what alice sends from one shows on the other as hers', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const alice2 = await secondDevice(t, tracker, 'alice');
  await devicesSeen(bob, 'alice', 2);
  const rows = (await bob.listPeers()).find((p) => p.user === 'alice')!.devices!;
  assert.notEqual(rows[0]!.device, rows[1]!.device, 'each data folder is its own device');
  assert.ok(rows.every((d) => d.online && d.port > 0));

  const fromBob = (m: Shown) => m.from === 'bob';
  const atAlice = messagesShown(alice, 120, fromBob);
  const atAlice2 = messagesShown(alice2, 120, fromBob);
  const sent: string[] = [];
  let last = '';
  const lastDelivered = waitFor(bob, 'delivered', (e) => e.id === last, 30_000);
  for (let i = 0; i < 100; i++) sent.push((await bob.sendRoom(id, `room ${i}`)).id);
  for (let i = 0; i < 20; i++) sent.push((await bob.sendDirect('alice', `direct ${i}`)).id);
  last = sent[sent.length - 1]!;
  for (const shown of [await atAlice, await atAlice2]) {
    assert.deepEqual(shown.map((m) => m.id), sent, 'every message once, in the order sent');
  }
  await lastDelivered;
  const outbox = await bob.outbox();
  assert.ok(outbox.pending.every((p) => !p.waitingFor.includes('alice')), 'alice counts as delivered once a device of hers has it');

  // From alice's first device: the second shows it as alice's own, and so does bob.
  const mine = (m: Shown) => m.from === 'alice';
  const onAlice2 = messagesShown(alice2, 6, mine);
  const onBob = messagesShown(bob, 6, mine);
  const own: string[] = [];
  for (let i = 0; i < 5; i++) own.push((await alice.sendRoom(id, `from the laptop ${i}`)).id);
  own.push((await alice.sendDirect('bob', 'a direct one from the laptop')).id);
  assert.deepEqual((await onAlice2).map((m) => m.id), own);
  assert.deepEqual((await onBob).map((m) => m.id), own);
  const page = await alice2.history({ room: id }, { limit: 500 });
  assert.deepEqual(page.messages.filter((m) => m.from === 'alice').map((m) => m.id), own.slice(0, 5), 'in the other device\'s history, as mine');

  // And back, from the second device to the first.
  const back = waitFor(alice, 'message', (m) => m.from === 'alice' && m.text === 'from the desktop');
  const { id: backId } = await alice2.sendRoom(id, 'from the desktop');
  assert.equal((await back).id, backId);
});

test('a device away during 50 messages catches up when it is back on a new port, from the other device or a member, once each', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const alice2 = await secondDevice(t, tracker, 'alice');
  await devicesSeen(bob, 'alice', 2);
  // A first direct message while both are there: the conversation exists on both devices.
  const first = messagesShown(alice2, 1, (m) => m.text === 'hello');
  await bob.sendDirect('alice', 'hello');
  await first;
  const port = alice2.peerPort;
  await alice2.close();
  await devicesSeen(bob, 'alice', 1);

  const atAlice = messagesShown(alice, 55, (m) => m.from === 'bob');
  const sent: string[] = [];
  for (let i = 0; i < 50; i++) sent.push((await bob.sendRoom(id, `while away ${i}`)).id);
  for (let i = 0; i < 5; i++) sent.push((await bob.sendDirect('alice', `direct while away ${i}`)).id);
  await atAlice;
  const own = (await alice.sendRoom(id, 'sent from the other device meanwhile')).id;

  // Back, on another port: it resumes its saved session (no password).
  const back = await makeEngine(t, tracker, { dataDir: alice2.dataDir });
  const caught = messagesShown(back, 56, (m) => sent.includes(m.id) || m.id === own);
  assert.equal(await back.resume('alice'), true);
  assert.notEqual(back.peerPort, port, 'a new port');
  const shown = await caught;
  assert.deepEqual(new Set(shown.map((m) => m.id)), new Set([...sent, own]), 'all of them, once each');
  const room = await back.history({ room: id }, { limit: 500 });
  const roomIds = room.messages.map((m) => m.id);
  assert.deepEqual(roomIds.filter((m) => sent.includes(m)), sent.slice(0, 50), 'in the order sent');
  assert.ok(roomIds.includes(own));
  const direct = await back.history({ user: 'bob' }, { limit: 500 });
  assert.deepEqual(direct.messages.map((m) => m.text).slice(-5), [0, 1, 2, 3, 4].map((i) => `direct while away ${i}`));
});

test('logout on one device ends that device only; logout everywhere ends all of them', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const alice2 = await secondDevice(t, tracker, 'alice');
  const alice3 = await secondDevice(t, tracker, 'alice');
  await devicesSeen(bob, 'alice', 3);
  await alice3.logout();
  await devicesSeen(bob, 'alice', 2);
  const ended = waitFor(alice2, 'error', (e) => e.code === 'auth.bad_token');
  const offline = waitFor(bob, 'presence', (p) => p.user === 'alice' && !p.online);
  const shownOnA2 = collect(alice2, 'message');
  await alice.logout({ everywhere: true });
  await offline;
  await ended;
  // Alice signs in again on her first device: bob's next message reaches it, and never the device
  // whose session ended (it signed out: no links, no listener).
  const back = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  await back.login('alice', PASSWORD);
  await devicesSeen(bob, 'alice', 1);
  const got = waitFor(back, 'message', (m) => m.text === 'after everywhere');
  await bob.sendDirect('alice', 'after everywhere');
  await got;
  await bob.listPeers();
  assert.deepEqual(shownOnA2, [], 'the logged-out device got nothing');
  assert.equal(alice2.user, undefined, 'the other device signed out');
  const again = await makeEngine(t, tracker, { dataDir: alice2.dataDir });
  assert.equal(await again.resume('alice'), false, 'the other device\'s saved session no longer resumes');
});

test('a device back while my other device is away gets from the members what I sent meanwhile, and a direct conversation begun there', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'general');
  const { alice, bob, carol } = engines;
  const alice2 = await secondDevice(t, tracker, 'alice');
  await devicesSeen(bob, 'alice', 2);
  await alice2.close();
  await devicesSeen(bob, 'alice', 1);
  // From the first device, while the second is away: room messages, and a new direct conversation with carol.
  const atBob = messagesShown(bob, 3, (m) => m.from === 'alice');
  const mine: string[] = [];
  for (let i = 0; i < 3; i++) mine.push((await alice.sendRoom(id, `from the desk ${i}`)).id);
  await atBob;
  const atCarol = waitFor(carol, 'message', (m) => m.text === 'hi carol');
  const dm = (await alice.sendDirect('carol', 'hi carol')).id;
  await atCarol;
  const reply = waitFor(alice, 'message', (m) => m.text === 'hi alice');
  const replyId = (await carol.sendDirect('alice', 'hi alice')).id;
  await reply;
  await alice.close();
  await devicesSeen(bob, 'alice', 0);

  const back = await makeEngine(t, tracker, { dataDir: alice2.dataDir });
  const caught = messagesShown(back, 5, (m) => [...mine, dm, replyId].includes(m.id));
  assert.equal(await back.resume('alice'), true);
  await caught;
  const room = await back.history({ room: id }, { limit: 100 });
  assert.deepEqual(room.messages.filter((m) => m.from === 'alice').map((m) => m.id), mine, 'my own messages, from bob or carol');
  const direct = await back.history({ user: 'carol' }, { limit: 100 });
  assert.deepEqual(direct.messages.map((m) => m.id), [dm, replyId], 'the direct conversation begun on the other device');
});
