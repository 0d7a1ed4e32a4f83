// What a member sent before leaving (or being kicked) reaches members who were away then, and
// nothing they sign after it (protocol/room-log.ts `sent`; peer/room-messages.ts onEnvelope and
// onBundle; peer/catch-up.ts serve): the leave or kick names each of their sessions' last seq,
// members take and forward their envelopes up to it, and refuse the rest.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { allowErrors, collect, makeEngine, messagesShown, PASSWORD, roomOf, seesMember, waitFor, type TestEngine } from '../helpers/engines.ts';
import { storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import type { Signed } from '../../peer/signed-session.ts';

const SLOW = { timeout: 120_000 };

/**
 * bob says something carol gets, carol goes away, then bob edits it, says more, alice replies to
 * that, and bob reacts to the reply; then `depart` (bob leaves, or is kicked). Returns the ids.
 */
async function talkThenDepart(t: TestContext, depart: (e: Record<string, TestEngine>, id: string) => Promise<void>) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  await seesMember(bob, id, 'carol');
  const both = [alice, carol].map((e) => waitFor(e, 'message', (m) => m.text.startsWith('deploy')));
  const m1 = await bob.sendRoom(id, 'deploy at 17:00 is safe');
  await Promise.all(both);
  const gone = waitFor(bob, 'presence', (p) => p.user === 'carol' && !p.online);
  await carol.close();
  await gone;
  const edited = waitFor(alice, 'edited', (e) => e.id === m1.id);
  await bob.edit({ room: id }, m1.id, 'deploy at 17:00 is NOT safe: the migration drops a table');
  await edited;
  const atAlice = waitFor(alice, 'message', (m) => m.text.startsWith('handover'));
  const m2 = await bob.sendRoom(id, 'handover: the password rotation is yours now, carol');
  await atAlice;
  const atBob = waitFor(bob, 'message', (m) => m.text.startsWith('ok'));
  const reply = { id: (await alice.reply({ room: id }, m2.id, 'ok, carol please confirm')).messageId };
  await atBob;
  const reacted = waitFor(alice, 'reaction', (r) => r.id === reply.id && r.user === 'bob');
  await bob.react({ room: id }, reply.id, '👍');
  await reacted;
  await depart(engines, id);
  return { tracker, id, engines, m1, m2, reply };
}

/** carol signs in again; resolves with her engine once alice's reply (sent last) arrived. */
async function carolBack(t: TestContext, tracker: TrackerProcess, carol: TestEngine): Promise<{ again: TestEngine; errors: ReturnType<typeof collect<'error'>> }> {
  const again = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const errors = collect(again, 'error');
  const reply = waitFor(again, 'message', (m) => m.text.startsWith('ok'), 30_000);
  await again.login('carol', PASSWORD);
  await reply;
  return { again, errors };
}

/** What carol's history shows of the room, and that nothing is missing. */
async function assertCarolHasAll(again: TestEngine, id: string, ids: { m1: { id: string }; m2: { id: string }; reply: { id: string } }): Promise<void> {
  // The reaction and the edit are bob's, sent before the reply was; wait for the reaction (last).
  for (let i = 0; i < 100; i++) {
    const h = await again.history({ room: id });
    if (h.messages.find((x) => x.id === ids.reply.id)?.reactions?.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const h = await again.history({ room: id });
  const byId = (x: string) => h.messages.find((m) => m.id === x);
  assert.equal(byId(ids.m1.id)?.text, 'deploy at 17:00 is NOT safe: the migration drops a table', 'the edit reached carol');
  assert.equal(byId(ids.m1.id)?.edited, true);
  assert.equal(byId(ids.m2.id)?.text, 'handover: the password rotation is yours now, carol', 'the message sent while she was away reached her');
  assert.equal(byId(ids.reply.id)?.replyTo, ids.m2.id);
  assert.deepEqual(byId(ids.reply.id)?.reactions?.map((r) => [r.emoji, r.users]), [['👍', ['bob']]], 'bob\'s reaction reached her');
  assert.deepEqual(h.gaps ?? [], [], 'nothing shown missing');
}

test('what a member sent before leaving reaches a member who was away', SLOW, async (t) => {
  const { tracker, id, engines, ...ids } = await talkThenDepart(t, async ({ alice, bob }, room) => {
    const left = waitFor(alice, 'member_left', (e) => e.user === 'bob');
    await bob.leaveRoom(room);
    await left;
  });
  const { again, errors } = await carolBack(t, tracker, engines.carol);
  await assertCarolHasAll(again, id, ids);
  assert.deepEqual(errors.map((e) => `${e.code}: ${e.message}`), []);
});

test('what a kicked member sent before the kick reaches a member who was away; nothing they sign after it does', SLOW, async (t) => {
  let mallory!: TestEngine;
  const { tracker, id, engines, ...ids } = await talkThenDepart(t, async ({ alice, bob }, room) => {
    mallory = bob;
    // bob's client ignores the room log from now on, so it goes on sending as a member would.
    const s = (bob as unknown as { s: { sync: { apply: () => Promise<void>; onLog: () => Promise<void> } } }).s;
    s.sync.apply = async () => {};
    s.sync.onLog = async () => {};
    const kicked = waitFor(alice, 'member_kicked', (k) => k.user === 'bob');
    await alice.kick(room, 'bob');
    await kicked;
  });
  const { alice } = engines;
  allowErrors(alice, (e) => /from bob/.test(e.message));
  const refused = collect(alice, 'error');
  // In the session the kick named, past its last seq; then in a new session.
  const oneRefusal = waitFor(alice, 'error', (e) => e.code === 'room.not_member' && /from bob/.test(e.message));
  await mallory.sendRoom(id, 'still here (same session)');
  await oneRefusal;
  const s = (mallory as unknown as { s: Signed }).s;
  s.messages.rotate(id);
  const keyRefused = waitFor(alice, 'error', (e) => /session key from bob/.test(e.message));
  await mallory.sendRoom(id, 'still here (new session)');
  await keyRefused;
  const heldFromBob = (e: TestEngine) => Number(storeOf(e).db.get(`SELECT count(*) AS n FROM bundles WHERE room = ? AND sender = 'bob'`, [id])!.n);
  assert.equal(heldFromBob(alice), 1, 'the new session\'s key is not held');
  assert.ok(refused.every((e) => e.code === 'room.not_member' || /without its session key/.test(e.message)), refused.map((e) => e.message).join('\n'));

  const { again, errors } = await carolBack(t, tracker, engines.carol);
  await assertCarolHasAll(again, id, ids);
  assert.deepEqual(errors.map((e) => `${e.code}: ${e.message}`), []);
  const h = await again.history({ room: id });
  assert.equal(h.messages.filter((m) => m.text.startsWith('still here')).length, 0, 'nothing bob sent after the kick');
  const alicesView = await alice.history({ room: id });
  assert.equal(alicesView.messages.filter((m) => m.text.startsWith('still here')).length, 0);
});

test('a member who sent in more sessions than a receiver keeps of one sender, then left: a member away gets every message', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  await seesMember(bob, id, 'carol');
  const gone = waitFor(bob, 'presence', (p) => p.user === 'carol' && !p.online);
  await carol.close();
  await gone;
  // A new session for each message (as a key change or the 100-message cap makes one): 12 sessions,
  // more than the 8 a receiver keeps of one sender (MAX_SESSIONS_PER_SENDER).
  const s = (bob as unknown as { s: Signed }).s;
  const SESSIONS = 12;
  for (let i = 0; i < SESSIONS; i++) {
    s.messages.rotate(id);
    const atAlice = waitFor(alice, 'message', (m) => m.text === `part ${i}`);
    await bob.sendRoom(id, `part ${i}`);
    await atAlice;
  }
  const left = waitFor(alice, 'member_left', (e) => e.user === 'bob');
  await bob.leaveRoom(id);
  await left;
  const again = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const errors = collect(again, 'error');
  const all = messagesShown(again, SESSIONS, (m) => m.from === 'bob', 30_000);
  await again.login('carol', PASSWORD);
  assert.deepEqual((await all).map((m) => m.text), Array.from({ length: SESSIONS }, (_, i) => `part ${i}`));
  assert.deepEqual(errors.map((e) => `${e.code}: ${e.message}`), []);
});
