// A forwarder needs no trust (DESIGN.md "Delivery, history, nothing lost"): a member who relays
// another member's messages to someone who was away may tamper with them, drop some or change
// their order. With a real tracker and a real engine for the member coming back, and a raw link as
// the hostile forwarder relaying the sender's genuine envelopes: a tampered or forged envelope is
// refused and never shown, a dropped one is reported as a gap until it arrives, and reordered ones
// are shown in the one order every member keeps, the late ones marked.

import assert from 'node:assert/strict';
import { messageId } from '../../protocol/message-id.ts';
import { test } from 'node:test';
import type { ClientEvents } from '../../protocol/client.ts';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, allowErrors, collect, makeEngine, roomOf, waitFor } from '../helpers/engines.ts';
import { HandSession, linkTo, savedHead, savedKeys } from '../helpers/proxy.ts';

test('a hostile forwarder: tampered and forged envelopes refused, a dropped one shown as a gap until it comes, reordered ones put in order and marked late', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'lab');
  const keys = { alice: savedKeys(engines.alice, 'alice'), bob: savedKeys(engines.bob, 'bob'), carol: savedKeys(engines.carol, 'carol') };
  const head = savedHead(engines.bob, id);
  // Only alice's engine runs from here on: bob wrote while she was away, carol relays it.
  for (const e of [engines.bob, engines.carol, engines.alice]) await e.close();
  const alice = await makeEngine(t, tracker, { dataDir: engines.alice.dataDir });
  await alice.login('alice', PASSWORD);
  const shown = collect(alice, 'message');
  const gaps: ClientEvents['gap'][] = [];
  alice.on('gap', (g) => gaps.push(g));

  const base = Date.now();
  const bob = new HandSession(keys.bob, id, head, [keys.alice, keys.carol], base);
  const envelopes = [0, 1, 2, 3, 4].map((i) => bob.envelope(`note ${i}`, base + i * 1000));
  const carol = await linkTo(t, alice, keys.carol, keys.alice);
  carol.send({ t: 'session', bundle: bob.bundle });

  // Tampered ciphertext, and carol's own envelope passed off as bob's: refused, not shown.
  const tampered = { ...envelopes[0], ct: flip(envelopes[0].ct) };
  const refusedTamper = waitFor(alice, 'error', (e) => e.code === 'message.bad_signature' && /bob/.test(e.message));
  carol.send({ t: 'envelope', envelope: tampered });
  await refusedTamper;
  const forged = { ...new HandSession(keys.carol, id, head, [keys.alice], base).envelope('carol pretending', base), sender: 'bob', session: bob.bundle.session, seq: 0 };
  const refusedForgery = waitFor(alice, 'error', (e) => e.code === 'message.bad_signature' && /bob/.test(e.message));
  carol.send({ t: 'envelope', envelope: forged });
  await refusedForgery;

  // The genuine first, then 2 without 1 (dropped), then 4 before 3 (reordered).
  const got = (text: string) => waitFor(alice, 'message', (m) => m.text === text);
  let next = got('note 0');
  carol.send({ t: 'envelope', envelope: envelopes[0] });
  await next;
  const gapOpened = waitFor(alice, 'gap', (g) => g.from === 'bob' && g.missing === 1);
  carol.send({ t: 'envelope', envelope: envelopes[2] });
  await gapOpened;
  next = got('note 3');
  carol.send({ t: 'envelope', envelope: envelopes[4] });
  carol.send({ t: 'envelope', envelope: envelopes[3] });
  await next;
  assert.equal(gaps.at(-1)?.missing, 1, 'still one missing: note 1');
  assert.deepEqual((await alice.history({ room: id })).gaps, [{ from: 'bob', missing: 1 }], 'the newest page says so too (a restart or a reload shows it again)');

  // The dropped one arrives another way (here: the same link later): the gap closes.
  const closed = waitFor(alice, 'gap', (g) => g.from === 'bob' && g.missing === 0);
  carol.send({ t: 'envelope', envelope: envelopes[1] });
  await closed;

  assert.deepEqual(shown.map((m) => m.text), ['note 0', 'note 2', 'note 4', 'note 3', 'note 1'], 'shown as they came, tampered and forged never');
  assert.deepEqual(shown.map((m) => m.late === true), [false, false, false, true, true], 'those that came after a later one are marked late');
  assert.deepEqual(gaps.map((g) => [g.roomId, g.missing]), [[id, 1], [id, 2], [id, 1], [id, 0]]);
  const page = await alice.history({ room: id });
  assert.deepEqual(page.messages.map((m) => m.text), ['note 0', 'note 1', 'note 2', 'note 3', 'note 4'], 'history keeps the one order');
  assert.equal(page.gaps, undefined, 'nothing missing any more');
});

/** The base64url text with its first character changed (a different ciphertext, same length). */
function flip(b64: string): string {
  return (b64[0] === 'A' ? 'B' : 'A') + b64.slice(1);
}

test('a member\'s catch-up summary claiming sessions nobody sent opens no gap and grows nothing', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'lab');
  const keys = { alice: savedKeys(engines.alice, 'alice'), bob: savedKeys(engines.bob, 'bob'), mallory: savedKeys(engines.mallory, 'mallory') };
  const head = savedHead(engines.bob, id);
  await engines.mallory.close();
  const alice = engines.alice;
  const gaps = collect(alice, 'gap');
  const mallory = await linkTo(t, alice, keys.mallory, keys.alice);
  // Claims: bob wrote a billion messages in a session of his; people not in the room wrote too.
  const fake = () => toBase64Url(randomBytes(16));
  mallory.send({ t: 'summary', room: id, sessions: [{ sender: 'bob', session: fake(), seq: 1_000_000_000 }] });
  for (let n = 0; n < 20; n++) {
    mallory.send({ t: 'summary', room: id, sessions: Array.from({ length: 1024 }, (_, i) => ({ sender: `ghost${n}x${i}`, session: fake(), seq: 999 })) });
  }
  // A genuine message from bob relayed after the claims: once it is shown, they were all handled.
  const bob = new HandSession(keys.bob, id, head, [keys.alice, keys.mallory]);
  const shown = waitFor(alice, 'message', (m) => m.text === 'after the claims');
  mallory.send({ t: 'session', bundle: bob.bundle });
  mallory.send({ t: 'envelope', envelope: bob.envelope('after the claims') });
  await shown;
  assert.deepEqual(gaps, [], 'a claim is not evidence: no gap from a summary');
});

test('a member cannot make another\'s message vanish by sending one with its id first, nor pin one as newest with a time far ahead', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'carol', 'mallory'], 'lab');
  const keys = { alice: savedKeys(engines.alice, 'alice'), carol: savedKeys(engines.carol, 'carol'), mallory: savedKeys(engines.mallory, 'mallory') };
  const head = savedHead(engines.alice, id);
  for (const e of [engines.alice, engines.mallory]) await e.close();
  const carol = engines.carol;
  const shown = collect(carol, 'message');
  const mallory = new HandSession(keys.mallory, id, head, [keys.alice, keys.carol]);
  const alice = new HandSession(keys.alice, id, head, [keys.carol, keys.mallory]);
  // Ids are derived from the envelope's coordinates: alice's next one can be foreseen, but no one
  // else can seal a message under it.
  const takenId = messageId({ room: id, sender: 'alice', session: alice.session.session, seq: alice.session.next });
  const fromMallory = await linkTo(t, carol, keys.mallory, keys.carol);
  const fromAlice = await linkTo(t, carol, keys.alice, keys.carol);
  allowErrors(carol, (e) => e.code === 'message.bad_id');
  const squatRefused = waitFor(carol, 'error', (e) => e.code === 'message.bad_id' && /mallory/.test(e.message));
  fromMallory.send({ t: 'session', bundle: mallory.bundle });
  fromMallory.send({ t: 'envelope', envelope: mallory.envelope('squatting', Date.now(), takenId) });
  await squatRefused;
  let next = waitFor(carol, 'message', (m) => m.text === 'the real one');
  const acked = new Promise<void>((resolve) => fromAlice.on('message', (m) => m.t === 'ack' && m.sender === 'alice' && resolve()));
  fromAlice.send({ t: 'session', bundle: alice.bundle });
  fromAlice.send({ t: 'envelope', envelope: alice.envelope('the real one') });
  const real = await next;
  await acked;
  assert.equal(real.id, takenId, 'the real one has its own id');
  next = waitFor(carol, 'message', (m) => m.text === 'mallory honest');
  fromMallory.send({ t: 'envelope', envelope: mallory.envelope('mallory honest') });
  await next;

  const refused = waitFor(carol, 'error', (e) => e.code === 'message.from_the_future' && /mallory/.test(e.message));
  fromMallory.send({ t: 'envelope', envelope: mallory.envelope('pinned as newest', Date.now() + 10 * 365 * 24 * 3600 * 1000) });
  await refused;
  const page = await carol.history({ room: id });
  assert.deepEqual(page.messages.map((m) => [m.from, m.text]), [['alice', 'the real one'], ['mallory', 'mallory honest']]);
  assert.deepEqual(shown.map((m) => m.text), ['the real one', 'mallory honest'], 'the copy under her id was never shown');
});
