// A delete reaches members who were away for it, also after its author left the room or was
// kicked (DESIGN.md "Delivery, history, nothing lost"; protocol/message-actions.ts: a delete's text
// is removed from every member's store). Members who stay forward a departed member's envelopes
// up to what their leave or kick names (protocol/room-log.ts `sent`; peer/catch-up.ts serve), and
// receivers take, past that, only deletes of their own messages, in a session it names
// (peer/room-messages.ts onEnvelope, onBundle): removing one's own text is always allowed,
// posting or editing after leaving is not.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { MessageBody } from '../../protocol/peer.ts';
import { eventHash, type RoomHead } from '../../protocol/room-log.ts';
import { makeBundle, newOutboundSession, sealBody, type OutboundSession } from '../../peer/sender-keys.ts';
import { messageId } from '../../protocol/message-id.ts';
import { allowErrors, away, makeEngine, PASSWORD, roomOf, seesMember, waitFor, type TestEngine } from '../helpers/engines.ts';
import { linkTo, savedKeys } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';

const SLOW = { timeout: 120_000 };

/** Envelopes `from` has waiting for `to` in the tracker's mailbox (its database, read directly). */
const waitingInMailbox = async (tracker: TrackerProcess, from: string, to: string) =>
  (await queryDb<{ n: number }>(tracker.dbPath, 'SELECT COUNT(*) AS n FROM mailbox WHERE depositor = ? AND recipient = ? AND seq IS NOT NULL', from, to))[0].n;

/** Signs carol in again on her data folder; resolves once she was told message `id` is deleted. */
async function backAndDeleted(t: TestContext, tracker: TrackerProcess, carol: TestEngine, room: string, id: string): Promise<TestEngine> {
  const again = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const deleted = waitFor(again, 'deleted', (e) => e.id === id, 30_000);
  await again.login('carol', PASSWORD);
  await deleted;
  const h = await again.history({ room });
  const m = h.messages.find((x) => x.id === id);
  assert.equal(m?.deleted, true, 'carol shows the message deleted');
  assert.equal(m?.text ?? '', '');
  assert.equal((await again.search('salary')).results.length, 0);
  return again;
}

test('a member away for a delete gets it after its author left the room', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'clients');
  const { alice, bob, carol } = engines;
  await seesMember(bob, id, 'carol');
  const both = [alice, carol].map((e) => waitFor(e, 'message', (m) => m.text.startsWith('salary')));
  const m = await bob.sendRoom(id, 'salary review (meant for #managers)');
  await Promise.all(both);
  await away(carol, bob);
  const atAlice = waitFor(alice, 'deleted', (e) => e.id === m.id);
  await bob.deleteMessage({ room: id }, m.id);
  await atAlice;
  const left = waitFor(alice, 'member_left', (e) => e.user === 'bob');
  await bob.leaveRoom(id);
  await left;
  await backAndDeleted(t, tracker, carol, id, m.id);
});

test('a member away for a delete gets it after its author was kicked, from a session begun while she was away', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol', 'dave'], 'clients');
  const { alice, bob, carol, dave } = engines;
  await seesMember(bob, id, 'carol');
  const both = [alice, carol].map((e) => waitFor(e, 'message', (m) => m.text.startsWith('salary')));
  const m = await bob.sendRoom(id, 'salary review (meant for #managers)');
  await Promise.all(both);
  await away(carol, bob);
  // dave leaves: bob's next message is in a new session, whose key carol has not got.
  const daveLeft = waitFor(bob, 'member_left', (e) => e.user === 'dave');
  await dave.leaveRoom(id);
  await daveLeft;
  const atAlice = waitFor(alice, 'deleted', (e) => e.id === m.id);
  await bob.deleteMessage({ room: id }, m.id);
  await atAlice;
  const kicked = waitFor(bob, 'member_kicked', (e) => e.user === 'bob');
  await alice.kick(id, 'bob');
  await kicked;
  await backAndDeleted(t, tracker, carol, id, m.id);
});

test('from a member who left, past what their leave names only deletes of their own messages are taken: a new session, message, edit and delete of another\'s are refused', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'clients');
  const { alice, bob, carol } = engines;
  await seesMember(bob, id, 'carol');
  const fromBob = waitFor(carol, 'message', (m) => m.text === 'bob: mine');
  const mine = await bob.sendRoom(id, 'bob: mine');
  await fromBob;
  const fromAlice = waitFor(carol, 'message', (m) => m.text === 'alice: hers');
  const hers = await alice.sendRoom(id, 'alice: hers');
  await fromAlice;
  // The head at which bob was still a member, as carol holds it.
  carol.data.flush();
  const last = carol.data.loadState('carol').rooms.get(id)!.events.at(-1)!;
  const head: RoomHead = { seq: last.seq, hash: eventHash(last) };
  const bobKeys = savedKeys(bob, 'bob');
  const carolKeys = savedKeys(carol, 'carol');
  // bob's modified client keeps the session his leave names (his honest one forgets it).
  const kept = (bob as unknown as { s: { messages: { outbound: Map<string, OutboundSession> } } }).s.messages.outbound.get(id)!;
  const session: OutboundSession = { ...kept, chainKey: Buffer.from(kept.chainKey), head: { ...kept.head } };
  const left = waitFor(carol, 'member_left', (e) => e.user === 'bob');
  await bob.leaveRoom(id);
  await left;

  const link = await linkTo(t, carol, bobKeys, carolKeys);
  const seal = (b: Omit<MessageBody, 'id'>) => sealBody(session, 'bob', bobKeys.signingKey, { ...b, id: messageId({ room: id, sender: 'bob', session: session.session, seq: session.next }) });
  const refusals: string[] = [];
  allowErrors(carol, (e) => e.code === 'room.not_member' && /from bob/.test(e.message));
  carol.on('error', (e) => { if (e.code === 'room.not_member') refusals.push(e.message); });
  const shown: string[] = [];
  carol.on('message', (m) => shown.push(m.text));
  const edited: string[] = [];
  carol.on('edited', (e) => edited.push(e.id));
  const deleted: string[] = [];
  carol.on('deleted', (e) => deleted.push(e.id));

  // A session of his own at that old head is not one his leave names: its key is refused.
  const fresh = newOutboundSession(id, head, Date.now());
  link.send({ t: 'session', bundle: makeBundle(fresh, 'bob', bobKeys.signingKey, [{ user: 'carol', encryptionKey: carolKeys.encryptionPublic }]) });
  // In the session it names, past its last seq:
  link.send({ t: 'envelope', envelope: seal({ time: Date.now(), text: 'posted after leaving' }) });
  link.send({ t: 'envelope', envelope: seal({ time: Date.now(), text: 'rewritten after leaving', action: { t: 'edit', of: mine.id } }) });
  link.send({ t: 'envelope', envelope: seal({ time: Date.now(), text: '', action: { t: 'delete', of: hers.id } }) });
  // Removing his own text is still his to do.
  const ownGone = waitFor(carol, 'deleted', (e) => e.id === mine.id);
  link.send({ t: 'envelope', envelope: seal({ time: Date.now(), text: '', action: { t: 'delete', of: mine.id } }) });
  await ownGone;
  const marker = waitFor(carol, 'message', (m) => m.text === 'marker');
  await alice.sendRoom(id, 'marker');
  await marker;

  assert.equal(refusals.length, 4, refusals.join('\n'));
  assert.match(refusals[0], /session key from bob: a session started after they left/);
  assert.deepEqual(shown, ['marker']);
  assert.deepEqual(edited, []);
  assert.deepEqual(deleted, [mine.id]);
  const h = await carol.history({ room: id });
  assert.equal(h.messages.find((x) => x.id === hers.id)?.text, 'alice: hers');
  assert.equal(h.messages.find((x) => x.id === mine.id)?.deleted, true);
});

test('a member away for a delete gets it from her mailbox after its author left, with nobody else online', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'clients');
  const { alice, bob, carol } = engines;
  await seesMember(bob, id, 'carol');
  const both = [alice, carol].map((e) => waitFor(e, 'message', (m) => m.text.startsWith('salary')));
  const m = await bob.sendRoom(id, 'salary review (meant for #managers)');
  await Promise.all(both);
  await away(carol, bob);
  await away(alice, bob);
  await bob.deleteMessage({ room: id }, m.id);
  // Once the tracker holds the delete for carol, only her mailbox has it for her.
  for (let i = 0; i < 200 && (await waitingInMailbox(tracker, 'bob', 'carol')) === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await waitingInMailbox(tracker, 'bob', 'carol'), 1);
  await bob.leaveRoom(id);
  await bob.close();
  await backAndDeleted(t, tracker, carol, id, m.id);
});
