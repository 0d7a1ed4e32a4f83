// "Nothing lost" with real engines, a real tracker and real links: messages to a member who is
// away reach them later through any other member (catch-up and forwarding), once each, in order;
// a kicked member gets nothing sent after the kick; the sender sees what waits and for whom.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, collect, makeEngine, registered, roomOf, waitFor, messagesShown, type TestEngine } from '../helpers/engines.ts';
import { startRecordingProxy } from '../helpers/proxy.ts';


/** Resolves when the tracker has told `engine` that `user` is offline (or online). */
const presence = (engine: TestEngine, user: string, online: boolean) => waitFor(engine, 'presence', (p) => p.user === user && p.online === online);

test('a member away during 200 messages gets all 200, in order, through a third member after the sender left', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'general');
  const { alice, bob, carol } = engines;
  const gone = presence(bob, 'alice', false);
  await alice.close();
  await gone;

  const atCarol = messagesShown(carol, 200, (m) => m.roomId === id);
  const waiting = waitFor(bob, 'waiting', (w) => w.waitingFor.includes('alice'));
  const sent: string[] = [];
  for (let i = 0; i < 200; i++) sent.push((await bob.sendRoom(id, `note ${i}`)).id);
  await atCarol;
  assert.deepEqual((await waiting).waitingFor, ['alice'], 'the sender is told who the message waits for');
  const outbox = await bob.outbox();
  assert.equal(outbox.pending.length, 200, 'every message waits for alice in the outbox');
  assert.ok(outbox.pending.every((p) => p.roomId === id && p.waitingFor.includes('alice')), 'each waits for alice (carol\'s acks may still be on their way)');

  const bobGone = presence(carol, 'bob', false);
  await bob.close();
  await bobGone;

  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  const got = messagesShown(alice2, 200, (m) => m.roomId === id);
  await alice2.login('alice', PASSWORD);
  const shown = await got;
  assert.deepEqual(shown.map((m) => m.id), sent, 'all 200, once each, in the order sent');
  assert.ok(shown.every((m) => m.from === 'bob'));
  const page = await alice2.history({ room: id }, { limit: 500 });
  assert.deepEqual(page.messages.map((m) => m.id), sent, 'and in alice\'s history');
});

test('two forwarders at once: each missed message is shown once', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol', 'dave'], 'team');
  const { alice, bob, carol, dave } = engines;
  const gone = presence(bob, 'alice', false);
  await alice.close();
  await gone;
  const atCarol = messagesShown(carol, 50, (m) => m.roomId === id);
  const atDave = messagesShown(dave, 50, (m) => m.roomId === id);
  const sent: string[] = [];
  for (let i = 0; i < 50; i++) sent.push((await bob.sendRoom(id, `m ${i}`)).id);
  await Promise.all([atCarol, atDave]);
  const bobGone = Promise.all([presence(carol, 'bob', false), presence(dave, 'bob', false)]);
  await bob.close();
  await bobGone;

  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  const all = collect(alice2, 'message');
  const got = messagesShown(alice2, 50, (m) => m.roomId === id);
  await alice2.login('alice', PASSWORD);
  await got;
  // Each forwarder's link carries its catch-up before this direct message: once both have
  // arrived, any duplicate would have been shown.
  const sentinels = messagesShown(alice2, 2, (m) => m.text === 'sentinel');
  await carol.sendDirect('alice', 'sentinel');
  await dave.sendDirect('alice', 'sentinel');
  await sentinels;
  const page = await alice2.history({ room: id }, { limit: 500 });
  assert.deepEqual(page.messages.map((m) => m.id), sent);
  assert.deepEqual(all.filter((m) => m.roomId === id).map((m) => m.id), sent, 'each shown exactly once');
});

test('a message to a member who is away waits for them, and is delivered when they come back while the sender stays', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'pair');
  const { alice, bob } = engines;
  const gone = presence(alice, 'bob', false);
  await bob.close();
  await gone;
  const waiting = waitFor(alice, 'waiting', (w) => w.waitingFor.includes('bob'));
  const sent = await alice.sendRoom(id, 'are you there?');
  const dm = await alice.sendDirect('bob', 'ping me when back');
  assert.deepEqual(await waiting, { room: 'pair', roomId: id, id: sent.id, waitingFor: ['bob'] });
  const page = await alice.history({ room: id });
  assert.deepEqual(page.messages.at(-1)?.waitingFor, ['bob'], 'history shows my message still waiting');

  const delivered = Promise.all([
    waitFor(alice, 'delivered', (d) => d.id === sent.id, 20_000),
    waitFor(alice, 'delivered', (d) => d.id === dm.id, 20_000),
  ]);
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const got = messagesShown(bob2, 2, (m) => m.id === sent.id || m.id === dm.id);
  await bob2.login('bob', PASSWORD);
  const shown = await got;
  assert.deepEqual(shown.map((m) => m.text).sort(), ['are you there?', 'ping me when back']);
  const [room, direct] = await delivered;
  assert.equal(room.count, room.of);
  assert.equal(direct.count, direct.of);
  assert.deepEqual((await alice.outbox()).pending, [], 'nothing waits any more');
});

test('a kicked member gets nothing sent after the kick, from any member', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol', 'mallory'], 'club');
  const { alice, bob, carol, mallory } = engines;
  const gone = presence(alice, 'mallory', false);
  await mallory.close();
  await gone;
  const kicked = waitFor(carol, 'member_kicked', (k) => k.user === 'mallory');
  await alice.kick(id, 'mallory');
  await kicked;
  const atCarol = messagesShown(carol, 10, (m) => m.roomId === id);
  for (let i = 0; i < 10; i++) await bob.sendRoom(id, `after the kick ${i}`);
  await atCarol;
  const bobGone = presence(carol, 'bob', false);
  await bob.close();
  await bobGone;

  const mallory2 = await makeEngine(t, tracker, { dataDir: mallory.dataDir });
  const seen = collect(mallory2, 'message');
  const told = waitFor(mallory2, 'member_kicked', (k) => k.user === 'mallory', 20_000);
  const sentinel = waitFor(mallory2, 'message', (m) => m.text === 'sentinel', 20_000);
  await mallory2.login('mallory', PASSWORD);
  await told;
  // Carol's link to mallory carries the catch-up first, then this direct message, in order.
  await carol.sendDirect('mallory', 'sentinel');
  await sentinel;
  assert.deepEqual(seen.filter((m) => m.roomId === id), [], 'nothing from after the kick');
});

test('a direct message and a room message to a member who is away reach them through the mailbox after the sender went offline too', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'duo');
  const { alice, bob } = engines;
  const gone = presence(alice, 'bob', false);
  await bob.close();
  await gone;
  const dm = await alice.sendDirect('bob', 'left in the mailbox');
  const room = await alice.sendRoom(id, 'room note for the mailbox');
  // Shutdown lets the deposit finish; then neither alice nor bob is online.
  await alice.close();

  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const got = messagesShown(bob2, 2, (m) => m.id === dm.id || m.id === room.id);
  await bob2.login('bob', PASSWORD);
  const shown = await got;
  assert.deepEqual(shown.map((m) => m.text).sort(), ['left in the mailbox', 'room note for the mailbox']);
  assert.ok(shown.every((m) => m.from === 'alice'));
  const page = await bob2.history({ user: 'alice' });
  assert.deepEqual(page.messages.map((m) => m.text), ['left in the mailbox']);
});

test('a message shown just before its receiver exits is acknowledged: its sender does not wait for them', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'pair');
  const { alice, bob } = engines;
  const delivered = waitFor(bob, 'delivered', (d) => d.count === 1, 20_000);
  const closing = new Promise<void>((resolve) => alice.once('message', () => resolve(alice.close())));
  const sent = await bob.sendRoom(id, 'last words before exit');
  await closing;
  assert.equal((await delivered).id, sent.id);
  assert.deepEqual((await bob.outbox()).pending, []);
});

test('a member restarted on a new port before the tracker noticed the old connection gone gets what was sent meanwhile', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  // bob's first run reaches the tracker through a proxy that keeps the tracker's side open when
  // bob goes away, as a machine that lost its network does: no offline, the old port stays listed.
  const vanishing = await startRecordingProxy(t, tracker, { vanish: true });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, { host: vanishing.host, port: vanishing.port }, 'bob');
  const { id } = await alice.createRoom('ops');
  const joined = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom(id);
  await joined;
  const first = waitFor(bob, 'message', (m) => m.text === 'before');
  await alice.sendRoom(id, 'before');
  await first;
  const oldPort = bob.peerPort;
  await bob.close();

  const bob2 = await makeEngine(t, { host: vanishing.host, port: vanishing.port }, { dataDir: bob.dataDir });
  const got = messagesShown(bob2, 2, (m) => m.text === 'room, meanwhile' || m.text === 'dm, meanwhile');
  assert.equal(await bob2.resume(), true);
  assert.notEqual(bob2.peerPort, oldPort);
  const room = await alice.sendRoom(id, 'room, meanwhile');
  const dm = await alice.sendDirect('bob', 'dm, meanwhile');
  assert.deepEqual((await got).map((m) => m.id).sort(), [room.id, dm.id].sort());
  assert.deepEqual((await bob2.history({ room: id })).messages.map((m) => m.text), ['before', 'room, meanwhile']);
});

test('a member who leaves or is kicked is no longer waited for: each waiting message is reported expired for them, and history says not delivered', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'crew');
  const { alice, bob } = engines;
  const gone = presence(alice, 'bob', false);
  await bob.close();
  await gone;
  const waiting = waitFor(alice, 'waiting', (w) => w.waitingFor.includes('bob'));
  const sent = await alice.sendRoom(id, 'for everyone, bob away');
  await waiting;
  const expired = waitFor(alice, 'expired', (e) => e.id === sent.id && e.user === 'bob');
  await alice.kick(id, 'bob');
  await expired;
  assert.deepEqual((await alice.outbox()).pending.filter((p) => p.waitingFor.includes('bob')), []);
  const mine = (await alice.history({ room: id })).messages.find((m) => m.id === sent.id)!;
  assert.deepEqual(mine.notDelivered, ['bob']);
  assert.ok(!(mine.waitingFor ?? []).includes('bob'), 'no longer waiting for bob (carol\'s ack may still be on its way)');
});

test('after a sender leaves, what they sent reaches a member who was away (forwarded up to what the leave names), without an error; the room\'s history stays readable after leaving it', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'crew');
  const { alice, bob, carol } = engines;
  const gone = presence(bob, 'carol', false);
  await carol.close();
  await gone;
  const atBob = messagesShown(bob, 3, (m) => m.from === 'alice');
  for (let i = 0; i < 3; i++) await alice.sendRoom(id, `alice ${i}`);
  await atBob;
  const left = waitFor(bob, 'member_left', (e) => e.user === 'alice');
  await alice.leaveRoom(id);
  await left;
  // alice can still read what the room said while she was in it.
  assert.deepEqual((await alice.history({ room: id })).messages.map((m) => m.text), ['alice 0', 'alice 1', 'alice 2']);

  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const seen = collect(carol2, 'message');
  await carol2.login('carol', PASSWORD);
  // bob's link carries its catch-up before this direct message.
  const sentinel = waitFor(carol2, 'message', (m) => m.text === 'sentinel', 20_000);
  await bob.sendDirect('carol', 'sentinel');
  await sentinel;
  assert.deepEqual(seen.filter((m) => m.roomId === id).map((m) => m.text), ['alice 0', 'alice 1', 'alice 2'], 'alice\'s messages reach carol, and no refusal was reported (the helper fails on one)');
});
