// The tracker is trusted to be available, never to be honest (DESIGN.md "Tracker", "Rooms: a
// signed membership log"): real engines talk to a lying tracker (test/helpers/lying-tracker.ts, a
// TLS man-in-the-middle in front of a real `node tracker`) that forges, hides and forks room log
// events. Every test asserts what the clients do about it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventHash } from '../../protocol/room-log.ts';
import { collect, expectErrors, registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { forgeEvent, garbageProof, signingKeyOf, startLyingTracker, withGarbageSignature, type LyingTracker } from '../helpers/lying-tracker.ts';
import { FAST_TRACKER_ARGS, startTracker, type Teardown } from '../helpers/tracker-process.ts';

const ROOM_PASSWORD = 'the room password, long enough';

async function setup(t: Teardown, users: string[]): Promise<{ lie: LyingTracker; engines: Record<string, TestEngine> }> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const lie = await startLyingTracker(t, tracker);
  const engines: Record<string, TestEngine> = {};
  for (const user of users) engines[user] = await registered(t, lie, user);
  return { lie, engines };
}

/** Alice creates `room`, then each of `joiners` joins; resolves once every member has seen every join. */
async function roomWith(engines: Record<string, TestEngine>, room: string, joiners: string[], password?: string): Promise<string> {
  const { alice } = engines;
  const { id } = await alice.createRoom(room, password ? { password } : {});
  const members = ['alice'];
  for (const user of joiners) {
    const seen = members.map((m) => waitFor(engines[m], 'member_joined', (e) => e.room === room && e.user === user));
    await engines[user].joinRoom(room, password);
    await Promise.all(seen);
    members.push(user);
  }
  return id;
}

const names = (engine: TestEngine, room: string) => engine.members(room).map((m) => m.user).sort();

/** Resolves when `user` receives `text`; `marker` style waits show that nothing else came first. */
const receives = (engine: TestEngine, text: string) => waitFor(engine, 'message', (m) => m.text === text);

test('a member added by the tracker without the password proof is refused and gets no key', async (t) => {
  const { lie, engines } = await setup(t, ['alice', 'bob', 'mallory']);
  const { alice, bob, mallory } = engines;
  const id = await roomWith(engines, 'secret', ['bob'], ROOM_PASSWORD);
  const joinedAlice = collect(alice, 'member_joined');
  const joinedBob = collect(bob, 'member_joined');
  const malloryMessages = collect(mallory, 'message');

  // Mallory is in on it: the tracker signs her join with her key, but it cannot make the proof.
  for (const proof of [undefined, garbageProof()]) {
    const join = forgeEvent(id, lie.head(id), { type: 'join', actor: 'mallory', ...(proof ? { proof } : {}) }, signingKeyOf(mallory));
    const refused = [alice, bob].map((e) => waitFor(e, 'error', (err) => err.code === 'room.bad_password'));
    assert.equal(lie.show(['alice', 'bob'], join), 2, 'the forged join was pushed to alice and bob');
    await Promise.all(refused);
  }
  assert.deepEqual(names(alice, 'secret'), ['alice', 'bob']);
  assert.deepEqual(names(bob, 'secret'), ['alice', 'bob']);

  // The lie is served again from room_log: bob's resume after a blip re-reads the log, and refuses it.
  const refusedAgain = waitFor(bob, 'error', (err) => err.code === 'room.bad_password');
  assert.equal(lie.disconnect('bob'), 1);
  await refusedAgain;
  assert.deepEqual(names(bob, 'secret'), ['alice', 'bob']);

  const bobGot = receives(bob, 'members only');
  const sent = await alice.sendRoom('secret', 'members only');
  assert.equal(sent.recipients, 1, 'only bob is a recipient');
  await bobGot;
  // Anything alice queued for mallory goes before this marker on the same link.
  const marker = receives(mallory, 'marker');
  await alice.sendDirect('mallory', 'marker');
  await marker;
  assert.deepEqual(malloryMessages.map((m) => m.text), ['marker']);
  mallory.data.flush();
  const sessions = Object.keys(mallory.data.loadState('mallory').inbound).filter((k) => k.startsWith(`${id} `));
  assert.deepEqual(sessions, [], 'mallory holds no session key of the room');
  assert.deepEqual([...joinedAlice, ...joinedBob].filter((e) => e.user === 'mallory'), []);
});

test('a kick forged by the tracker (not signed by the owner) is refused; the member stays', async (t) => {
  const { lie, engines } = await setup(t, ['alice', 'bob', 'carol', 'mallory']);
  const { alice, bob, carol, mallory } = engines;
  const id = await roomWith(engines, 'team', ['bob', 'carol']);
  const kicks = [alice, bob, carol].flatMap((e) => collect(e, 'member_kicked'));

  // "by alice", signed by mallory's key; then by alice with a signature the tracker made up.
  const byMallory = forgeEvent(id, lie.head(id), { type: 'kick', actor: 'alice', subject: 'bob' }, signingKeyOf(mallory));
  for (const kick of [byMallory, withGarbageSignature(byMallory)]) {
    const refused = [alice, bob, carol].map((e) => waitFor(e, 'error', (err) => err.code === 'room.bad_signature'));
    assert.equal(lie.show(['alice', 'bob', 'carol'], kick), 3);
    await Promise.all(refused);
  }
  assert.deepEqual(kicks, []);
  assert.deepEqual(names(alice, 'team'), ['alice', 'bob', 'carol']);
  assert.deepEqual(names(carol, 'team'), ['alice', 'bob', 'carol']);
  assert.deepEqual(names(bob, 'team'), ['alice', 'bob', 'carol']);

  const got = [receives(bob, 'still here'), receives(carol, 'still here')];
  assert.equal((await alice.sendRoom('team', 'still here')).recipients, 2);
  await Promise.all(got);
  const fromBob = [receives(alice, 'me too'), receives(carol, 'me too')];
  await bob.sendRoom('team', 'me too');
  await Promise.all(fromBob);
});

test('a tracker naming another owner changes nothing: owner comes from the log, a kick by the fake owner is refused', async (t) => {
  const { lie, engines } = await setup(t, ['alice', 'bob', 'carol']);
  const { alice, bob, carol } = engines;
  // From the start, every summary the clients get names bob as the owner.
  lie.rewriteSummaries((s) => ({ ...s, owner: 'bob' }));
  const id = await roomWith(engines, 'team', ['bob', 'carol']);
  assert.equal((await carol.listRooms()).find((r) => r.id === id)?.owner, 'bob', 'the tracker lies about the owner');
  for (const e of [alice, bob, carol]) {
    assert.deepEqual(e.members('team').filter((m) => m.owner).map((m) => m.user), ['alice'], `${e.user} computes the owner from the log`);
  }
  await assert.rejects(bob.kick('team', 'carol'), { code: 'room.not_owner' });

  // Bob (in on it) signs a kick of carol with his own key; the tracker relays it as if accepted.
  const kicks = [alice, bob, carol].flatMap((e) => collect(e, 'member_kicked'));
  const kick = forgeEvent(id, lie.head(id), { type: 'kick', actor: 'bob', subject: 'carol' }, signingKeyOf(bob));
  const refused = [alice, carol].map((e) => waitFor(e, 'error', (err) => err.code === 'room.not_owner'));
  // Bob is shown his own forged kick too, and his engine refuses it like the others.
  expectErrors(bob, ['room.not_owner']);
  assert.equal(lie.show(['alice', 'bob', 'carol'], kick), 3);
  await Promise.all(refused);
  assert.deepEqual(kicks, []);
  assert.deepEqual(names(alice, 'team'), ['alice', 'bob', 'carol']);
  assert.deepEqual(names(carol, 'team'), ['alice', 'bob', 'carol']);

  const got = receives(carol, 'carol is still in');
  assert.equal((await alice.sendRoom('team', 'carol is still in')).recipients, 2);
  await got;
});

for (const linked of [true, false]) {
  test(`a kick hidden from one member is caught on the first exchange (${linked ? 'envelope head on an open link' : 'heads of a new link'})`, async (t) => {
    const { lie, engines } = await setup(t, ['alice', 'bob', 'carol']);
    const { alice, bob, carol } = engines;
    const id = await roomWith(engines, 'team', ['bob', 'carol']);
    if (linked) {
      const got = [receives(bob, 'before'), receives(carol, 'before')];
      await alice.sendRoom('team', 'before');
      await Promise.all(got);
    }
    const kickSeq = lie.head(id).seq + 1;
    lie.hide(['bob'], id, kickSeq);

    const hidden = once(lie, 'dropped');
    const carolKicked = waitFor(carol, 'member_kicked', (e) => e.user === 'carol');
    const carolMessages = collect(carol, 'message');
    await alice.kick('team', 'carol');
    await carolKicked;
    assert.equal((await hidden)[0].user, 'bob');
    assert.deepEqual(names(bob, 'team'), ['alice', 'bob', 'carol'], 'bob was deceived');

    const forked = waitFor(bob, 'room_forked');
    const bobSawKick = waitFor(bob, 'member_kicked', (e) => e.user === 'carol');
    const sent = await alice.sendRoom('team', 'after the kick');
    assert.equal(sent.recipients, 1, 'only bob');
    const fork = await forked;
    assert.equal(fork.room, 'team');
    assert.equal(fork.seq, kickSeq, `room_forked names seq ${kickSeq}: ${JSON.stringify(fork)}`);
    assert.deepEqual(await bobSawKick, { room: 'team', roomId: fork.roomId, user: 'carol', by: 'alice' });
    assert.deepEqual(names(bob, 'team'), ['alice', 'bob']);

    const marker = receives(carol, 'marker');
    await alice.sendDirect('carol', 'marker');
    await marker;
    assert.deepEqual(carolMessages.map((m) => m.text), ['marker'], 'carol got nothing alice sent to the room after the kick');
  });
}

test('after a hidden kick is revealed by a member, that member reads the room again', async (t) => {
  const { lie, engines } = await setup(t, ['alice', 'bob', 'carol']);
  const { alice, bob, carol } = engines;
  const id = await roomWith(engines, 'team', ['bob', 'carol']);
  const got = [receives(bob, 'before'), receives(carol, 'before')];
  await alice.sendRoom('team', 'before');
  await Promise.all(got);
  lie.hide(['bob'], id, lie.head(id).seq + 1);
  const carolKicked = waitFor(carol, 'member_kicked', (e) => e.user === 'carol');
  await alice.kick('team', 'carol');
  await carolKicked;

  const bobErrors = collect(bob, 'error');
  const bobMessages = collect(bob, 'message');
  const caught = waitFor(bob, 'member_kicked', (e) => e.user === 'carol');
  await alice.sendRoom('team', 'first after the kick');
  await caught;
  // Bob holds the kick now (signed by alice, shown by alice): the next message must reach him,
  // and so should the one that revealed it (DESIGN.md "Delivery, history, nothing lost").
  const second = receives(bob, 'second after the kick');
  await alice.sendRoom('team', 'second after the kick');
  await second.catch((err) => {
    throw new Error(`${(err as Error).message}; bob's errors: ${JSON.stringify(bobErrors)}`);
  });
  assert.deepEqual(bobMessages.map((m) => m.text), ['first after the kick', 'second after the kick'], `bob's errors: ${JSON.stringify(bobErrors)}`);
});

test('two members shown different events at the same seq both detect the fork and stop sending', async (t) => {
  const { lie, engines } = await setup(t, ['alice', 'bob', 'carol', 'mallory']);
  const { alice, bob, carol, mallory } = engines;
  // No message before the fork: alice and bob have no link yet, so the first one exchanges heads.
  const id = await roomWith(engines, 'team', ['bob']);
  const head = lie.head(id);
  // Bob is shown mallory's (validly signed) join where everyone else sees carol's.
  const theirs = forgeEvent(id, head, { type: 'join', actor: 'mallory' }, signingKeyOf(mallory));
  lie.show(['bob'], theirs, { push: false });
  const bobSawMallory = waitFor(bob, 'member_joined', (e) => e.user === 'mallory');
  const aliceSawCarol = waitFor(alice, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('team');
  await Promise.all([bobSawMallory, aliceSawCarol]);
  assert.deepEqual(names(bob, 'team'), ['alice', 'bob', 'mallory']);
  assert.deepEqual(names(alice, 'team'), ['alice', 'bob', 'carol']);
  const real = lie.log(id)[head.seq + 1];
  assert.notEqual(eventHash(real), eventHash(theirs));

  // Each one's fork is in its state.json when it is told (a restart must not forget it).
  const onDisk = new Map<string, unknown>();
  for (const e of [alice, bob]) {
    e.on('room_forked', () => {
      const state = JSON.parse(readFileSync(join(e.data.userDir(e.user!), 'state.json'), 'utf8')) as { rooms: Record<string, { forked?: unknown }> };
      onDisk.set(e.user!, state.rooms[id]?.forked);
    });
  }
  const forks = [alice, bob].map((e) => waitFor(e, 'room_forked'));
  // Alice's session and message are at a head bob does not hold: he drops them, and says so.
  expectErrors(bob, [
    (e) => e.code === 'room.not_found' && /^from alice: session from alice for a room or head you do not hold/.test(e.message),
    (e) => e.code === 'room.invalid_event' && /the room's history is forked/.test(e.message),
  ]);
  await alice.sendRoom('team', 'hello');
  const [aliceFork, bobFork] = await Promise.all(forks);
  for (const fork of [aliceFork, bobFork]) {
    assert.equal(fork.room, 'team');
    assert.equal(fork.seq, head.seq + 1);
  }
  await assert.rejects(alice.sendRoom('team', 'more'), { code: 'room.invalid_event' });
  await assert.rejects(bob.sendRoom('team', 'more'), { code: 'room.invalid_event' });
  assert.equal(alice.joinedRooms().find((r) => r.id === id)?.forked, true);
  assert.equal(bob.joinedRooms().find((r) => r.id === id)?.forked, true);
  for (const user of ['alice', 'bob']) assert.ok(onDisk.get(user), `${user}'s fork was not on disk when it was told`);
});
