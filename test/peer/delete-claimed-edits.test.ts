// A delete's `edits` (its author's edits of the deleted message, dead with it) are only the author's
// word: a modified client sent message M2 to bob only, then deleted another message of its own
// naming M2's id among the delete's `edits`. Before, carol tombstoned the hole M2 left as held: she
// never asked for it, even after a restart and catch-up from bob, who showed M2 (members shown
// different histories, undetected). Now the named hole is only claimed: carol's summary still asks
// for it, bob serves M2, and carol shows it as what it is (a plain message, not scrubbed), and
// holds it to serve in turn. An honest member's claims are dead edits nobody serves: each is asked
// of each member once per run, not on every new link (each ask brings the session's later
// envelopes again). Real tracker, real engines over loopback, real stores.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CatchUp } from '../../peer/catch-up.ts';
import type { PeerLink } from '../../peer/link.ts';
import { RoomMessages } from '../../peer/room-messages.ts';
import { encryptMessage } from '../../peer/sender-keys.ts';
import { messageId } from '../../protocol/message-id.ts';
import type { MessageBody } from '../../protocol/peer.ts';
import { historyShows, storeOf } from '../helpers/conversation.ts';
import { aliceLinkedByHand } from '../helpers/hand-room.ts';
import { PASSWORD, makeEngine, roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** The hooks a modified client of `engine` would change (RoomMessages' own, as the probe found them). */
interface Modifiable {
  s: { messages: { deliver(user: string, env: unknown, msg: unknown): Promise<boolean>; myEdits(c: string, of: string): string[]; parts: { delivery: { sent(s: unknown, to: string[]): void } } } };
}

test("a message named as a dead edit by its author's delete is still fetched by a member who lacks it, and shown as itself", async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['mallory', 'bob', 'carol'], 'ops');
  const { mallory, bob, carol } = engines;
  const room = { room: id };

  // mallory's modified client: withholds from carol while `withhold` (neither sent nor waited for),
  // and names `claimed` as the edits of whatever it deletes.
  const rm = (mallory as unknown as Modifiable).s.messages;
  let withhold = false;
  let claimed: string[] | undefined;
  const deliver = rm.deliver.bind(rm);
  rm.deliver = (user, env, msg) => (withhold && user === 'carol' ? Promise.resolve(true) : deliver(user, env, msg));
  const { delivery } = rm.parts;
  const sent = delivery.sent.bind(delivery);
  delivery.sent = (s, to) => sent(s, withhold ? to.filter((u) => u !== 'carol') : to);
  const myEdits = rm.myEdits.bind(rm);
  rm.myEdits = (c, of) => claimed ?? myEdits(c, of);

  const both = [waitFor(bob, 'message', (m) => m.text === 'typo msg'), waitFor(carol, 'message', (m) => m.text === 'typo msg')];
  const m1 = await mallory.sendRoom(id, 'typo msg');
  await Promise.all(both);
  withhold = true;
  const hidden = 'I will drop the prod DB at 17:00 unless someone objects';
  const atBob = waitFor(bob, 'message', (m) => m.text === hidden);
  const m2 = await mallory.sendRoom(id, hidden);
  await atBob;
  withhold = false;
  claimed = [m2.id];
  const deleted = [waitFor(bob, 'deleted', (e) => e.id === m1.id), waitFor(carol, 'deleted', (e) => e.id === m1.id)];
  await mallory.deleteMessage(room, m1.id);
  await Promise.all(deleted);
  const m2At = storeOf(bob).history.get(id, m2.id)!;
  assert.ok(m2At, 'bob holds M2');
  assert.equal(storeOf(carol).history.get(id, m2.id), undefined, 'carol lacks M2 so far');
  // What carol asks for: her summary stops before M2's seq (the claim is not counted as held).
  const asked = storeOf(carol).held.summary(id).find((s) => s.sender === 'mallory' && s.session === m2At.session);
  assert.equal(asked?.seq, m2At.seq - 1, "carol's summary asks for M2's seq");

  // mallory is gone (she would not serve it); carol comes back and catches up from bob.
  const malloryGone = waitFor(bob, 'presence', (p) => p.user === 'mallory' && !p.online);
  await mallory.close();
  await malloryGone;
  const carolGone = waitFor(bob, 'presence', (p) => p.user === 'carol' && !p.online);
  await carol.close();
  await carolGone;
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = waitFor(carol2, 'message', (m) => m.id === m2.id, 30_000);
  await carol2.login('carol', PASSWORD);
  const m = await shown;
  assert.equal(m.text, hidden, 'shown with its text');
  assert.equal(m.deleted, undefined, 'not shown deleted');
  const h = await historyShows(carol2, room, (x) => x.messages.some((r) => r.id === m2.id));
  assert.deepEqual(h.messages.map((r) => (r.deleted ? '(deleted)' : r.text)), ['(deleted)', hidden], 'carol shows what bob shows');
  assert.equal(h.gaps, undefined);
  // carol now holds M2's envelope (not the claim): she serves it to members who lack it.
  const serves = storeOf(carol2).held.after(id, 'mallory', m2At.session, -1, 100).map((e) => e.seq);
  assert.ok(serves.includes(m2At.seq), 'carol serves M2');
});

test("an honest delete's claimed edits are asked of each member once per run: a member back again re-sends nothing", async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'ops');
  const { alice, bob, carol } = engines;
  const away = waitFor(bob, 'presence', (p) => p.user === 'carol' && !p.online);
  await carol.close();
  await away;
  const m = await alice.sendRoom(id, 'the staging host is db-7');
  await alice.edit({ room: id }, m.id, 'the staging host is db-8');
  await alice.deleteMessage({ room: id }, m.id);
  for (let i = 0; i < 20; i++) await alice.sendRoom(id, `after ${i}`);
  await historyShows(bob, { room: id }, (h) => h.messages.some((x) => x.text === 'after 19'));

  // carol's engine counted: envelopes received, and which members answered her summaries.
  let received = 0;
  const answered: string[] = [];
  const rm = RoomMessages.prototype as unknown as { onEnvelope(this: { parts: { me: { user: string } } }, ...a: unknown[]): Promise<void> };
  const onEnvelope = rm.onEnvelope;
  rm.onEnvelope = function (...a) {
    if (this.parts.me.user === 'carol') received++;
    return onEnvelope.apply(this, a);
  };
  const cu = CatchUp.prototype as unknown as { onCaughtUp(this: { parts: { me: string } }, link: PeerLink, msg: { room: string }): void };
  const onCaughtUp = cu.onCaughtUp;
  let caughtUp: (() => void) | undefined;
  cu.onCaughtUp = function (link, msg) {
    onCaughtUp.call(this, link, msg);
    if (this.parts.me === 'carol' && msg.room === id) {
      answered.push(link.remoteUser);
      caughtUp?.();
    }
  };
  t.after(() => {
    rm.onEnvelope = onEnvelope;
    cu.onCaughtUp = onCaughtUp;
  });
  const answeredBy = (users: string[]) => new Promise<void>((resolve) => {
    caughtUp = () => users.every((u) => answered.includes(u)) && resolve();
    caughtUp();
  });

  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  await carol2.login('carol', PASSWORD);
  await answeredBy(['alice', 'bob']);
  const h = await historyShows(carol2, { room: id }, (x) => x.messages.some((r) => r.text === 'after 19'));
  assert.equal(h.gaps, undefined, 'no gap where the message and its edit were');
  assert.ok(received > 0);

  // bob comes back: carol asks him again, and he has nothing she lacks.
  const gone = waitFor(carol2, 'presence', (p) => p.user === 'bob' && !p.online);
  await bob.close();
  await gone;
  received = 0;
  answered.length = 0;
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  await bob2.login('bob', PASSWORD);
  await answeredBy(['bob']);
  assert.equal(received, 0, 'nothing sent again for the claimed edit');
});

test("a claimed position that comes and is an edit of another message applies as that edit, and is held to serve", async (t) => {
  const { bob, id, keys, hand, link } = await aliceLinkedByHand(t, 'ops');
  const action = (a: NonNullable<MessageBody['action']>, text = '') => encryptMessage(hand.session, 'alice', keys.alice.signingKey, { time: Date.now(), text, action: a });
  const m0 = hand.envelope('the staging host is db-7');
  const m1 = hand.envelope('typo msg');
  // An edit of m0, held back; then a delete of m1 that names it among m1's dead edits.
  const edit = action({ t: 'edit', of: messageId(m0) }, 'the staging host is db-8');
  const del = action({ t: 'delete', of: messageId(m1), edits: [messageId(edit)] });
  const marker = waitFor(bob, 'message', (x) => x.text === 'marker');
  for (const envelope of [m0, m1, del, hand.envelope('marker')]) link.send({ t: 'envelope', envelope });
  await marker;
  const { held } = storeOf(bob);
  assert.equal(held.summary(id).find((s) => s.sender === 'alice')?.seq, edit.seq - 1, 'bob still asks for it');

  const edited = waitFor(bob, 'edited', (e) => e.id === messageId(m0));
  link.send({ t: 'envelope', envelope: edit });
  assert.equal((await edited).text, 'the staging host is db-8');
  assert.equal(bob.message({ room: id }, messageId(m0))?.text, 'the staging host is db-8');
  assert.ok(held.after(id, 'alice', hand.session.session, -1, 100).some((e) => e.seq === edit.seq), 'bob serves it');
});
