// Message ids and deletes against a hostile member (issue 12), with a real tracker, real engines
// and a hand-made link: ids are derived from the envelope's signed coordinates, so a member cannot
// give a message of theirs the id of another's (before, a copy arriving first at someone away took
// the id, and the author's delete was refused there, leaving the text); a message deleted while a
// member was away is never served to them, so they are never shown its text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageId } from '../../protocol/message-id.ts';
import type { Envelope, SessionBundle } from '../../protocol/peer.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import { encryptMessage } from '../../peer/sender-keys.ts';
import { PASSWORD, allowErrors, collect, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { historyShows, storeOf } from '../helpers/conversation.ts';
import { HandSession, linkTo, savedHead, savedKeys } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { roomWithAliceByHand } from '../helpers/hand-room.ts';

const presence = (engine: TestEngine, user: string, online: boolean) => waitFor(engine, 'presence', (p) => p.user === user && p.online === online);

/** What `engine` holds of `sender`'s messages in `room` after `afterSeq`, with their session's bundle. */
function heldOf(engine: TestEngine, room: string, sender: string, afterSeq = -1): { bundle: SessionBundle; envelopes: Envelope[] } {
  const { held } = storeOf(engine);
  const [s] = held.summary(room).filter((x) => x.sender === sender);
  assert.ok(s, `${engine.user} holds a session of ${sender}'s in ${room}`);
  return { bundle: held.bundle(room, sender, s.session)!, envelopes: held.after(room, sender, s.session, afterSeq, 100) };
}

test("a member's copy under another's message id is refused; the author's delete still applies where the copy came first", async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'ops');
  const { alice, bob, mallory } = engines;
  const room = { room: id };
  const gone = presence(alice, 'bob', false);
  await bob.close();
  await gone;

  // While bob is away, alice sends a secret and deletes it; mallory sees both.
  const atMallory = waitFor(mallory, 'message', (m) => m.text.includes('hunter2'));
  const m = await alice.sendRoom(id, 'prod db password is hunter2');
  await atMallory;
  const original = heldOf(alice, id, 'alice');
  const deleted = waitFor(mallory, 'deleted', (d) => d.id === m.id);
  await alice.deleteMessage(room, m.id);
  await deleted;
  const del = heldOf(alice, id, 'alice', original.envelopes.at(-1)!.seq);
  assert.equal(del.envelopes.length, 1, 'the delete is held');
  const keys = { mallory: savedKeys(mallory, 'mallory'), bob: savedKeys(bob, 'bob') };
  const head = savedHead(mallory, id);
  // Both away: only the hand-made link below reaches bob, in the order it sends.
  const aliceOff = presence(mallory, 'alice', false);
  await alice.close();
  await aliceOff;
  await mallory.close();

  // bob is back; mallory (a modified client, by hand) sends first her own message under the
  // secret's id, then forwards alice's message and its delete, then a marker.
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  allowErrors(bob2, (e) => e.code === 'message.bad_id');
  const errors = collect(bob2, 'error');
  const shown = collect(bob2, 'message');
  await bob2.login('bob', PASSWORD);
  const link = await linkTo(t, bob2, keys.mallory, keys.bob);
  const hand = new HandSession(keys.mallory, id, head, [keys.bob]);
  const refused = waitFor(bob2, 'error', (e) => e.code === 'message.bad_id');
  const marker = waitFor(bob2, 'message', (x) => x.text === 'marker');
  link.send({ t: 'session', bundle: hand.bundle });
  link.send({ t: 'envelope', envelope: hand.envelope('decoy', Date.now(), m.id) });
  link.send({ t: 'session', bundle: original.bundle });
  // alice's held envelope of the secret is a tombstone now: forward the copy taken before.
  for (const envelope of [...original.envelopes, ...del.envelopes]) link.send({ t: 'envelope', envelope });
  link.send({ t: 'envelope', envelope: hand.envelope('marker') });
  await refused;
  await marker;

  const h = await historyShows(bob2, room, (x) => x.messages.some((r) => r.id === m.id && r.deleted === true));
  assert.deepEqual(h.messages.map((r) => [r.from, r.text, r.deleted ?? false]), [['alice', '', true], ['mallory', 'marker', false]], 'the copy is not shown; the secret shows deleted');
  assert.equal(shown.some((x) => x.text.includes('hunter2') || x.text === 'decoy'), false, 'neither the secret nor the copy was ever shown');
  assert.ok(errors.some((e) => e.code === 'message.bad_id' && /mallory/.test(e.message)), 'the refusal names who sent it');
  assert.equal(errors.some((e) => e.code === 'message.not_author'), false, "alice's delete was not refused");
});

test('a direct message deleted while its receiver was away never reaches them, and leaves no gap', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines } = await roomOf(t, tracker, ['alice', 'carol'], 'any');
  const { alice, carol } = engines;
  const gone = presence(alice, 'carol', false);
  await carol.close();
  await gone;
  const secret = await alice.sendDirect('carol', 'oops: the staging key is 9f8e7d');
  await alice.deleteMessage({ user: 'carol' }, secret.id);
  await alice.sendDirect('carol', 'ignore that, sorry');
  assert.deepEqual((await alice.outbox()).pending.map((p) => p.id).includes(secret.id), false, 'the deleted one waits for nobody');

  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = collect(carol2, 'message');
  await carol2.login('carol', PASSWORD);
  const h = await historyShows(carol2, { user: 'alice' }, (x) => x.messages.some((r) => r.text === 'ignore that, sorry'));
  assert.deepEqual(h.messages.map((r) => r.text), ['ignore that, sorry']);
  assert.equal(h.gaps, undefined, 'no gap where the deleted message was');
  assert.equal(shown.some((x) => x.text.includes('9f8e7d')), false, 'carol never saw the deleted text');
  // Delivered to carol in full: nothing of alice's waits.
  const done = async () => (await alice.outbox()).pending.length === 0;
  // Checked again on each delivery (a check and the wait after it run in one turn: none is missed).
  while (!(await done())) await waitFor(alice, 'delivered', () => true);
});

test('a message that arrives after its delete is shown as "message deleted": never its text, never unread, never a notification', async (t) => {
  const { bob, id, keys, head } = await roomWithAliceByHand(t, 'ops');
  const notified: string[] = [];
  const model = new ChatModel({ post: () => {}, attention: () => [], notify: (_k, _title, text) => notified.push(text) }, 'tracker');
  model.attach(bob);
  await model.signedIn(bob);
  const shown = collect(bob, 'message');

  // alice's client (by hand): the secret, then its delete; the delete travels first.
  const hand = new HandSession(keys.alice, id, head, [keys.bob]);
  const secret = hand.envelope('the vpn password is swordfish');
  const del = encryptMessage(hand.session, 'alice', keys.alice.signingKey, { time: Date.now(), text: '', action: { t: 'delete', of: messageId(secret) } });
  const link = await linkTo(t, bob, keys.alice, keys.bob);
  const arrived = waitFor(bob, 'message', (m) => m.id === messageId(secret));
  link.send({ t: 'session', bundle: hand.bundle });
  link.send({ t: 'envelope', envelope: del });
  link.send({ t: 'envelope', envelope: secret });
  const m = await arrived;
  assert.equal(m.deleted, true);
  assert.equal(m.text, '');
  const marker = waitFor(bob, 'message', (x) => x.text === 'marker');
  link.send({ t: 'envelope', envelope: hand.envelope('marker') });
  await marker;
  assert.equal(shown.some((x) => x.text.includes('swordfish')), false);
  assert.deepEqual(notified, ['marker'], 'only the marker was notified');
  assert.equal(model.roomItems().find((r) => r.key === id)?.unread, 1, 'only the marker is unread');
  assert.equal(bob.message({ room: id }, messageId(secret))?.deleted, true);
  // Nothing of it is held to serve (a tombstone), and no gap: it came.
  const held = storeOf(bob).db.all("SELECT seq, length(body) AS n FROM envelopes WHERE room = ? AND sender = 'alice' ORDER BY seq", [id]).map((r) => [Number(r.seq), Number(r.n) > 0]);
  assert.deepEqual(held, [[0, false], [1, true], [2, true]]);
});
