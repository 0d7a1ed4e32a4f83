// An edited-then-deleted message leaves no text anywhere (issue 12), with a real tracker, real
// engines and, for the orders catch-up never makes, a hand-made link: the author's edits are dead
// with the message, so their held envelopes are tombstoned (catch-up never serves the edited
// text), a member away during it all never gets or keeps it, and an edit that arrives after its
// delete is scrubbed at once. Before, a member away was served the edit by catch-up (from the
// author or any member) and kept its text in an edit row that was never scrubbed.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { messageId } from '../../protocol/message-id.ts';
import type { ClientEvents } from '../../protocol/client.ts';
import type { MessageBody } from '../../protocol/peer.ts';
import { encryptMessage } from '../../peer/sender-keys.ts';
import { PASSWORD, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { historyShows, keepsNothingOf, storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { aliceLinkedByHand } from '../helpers/hand-room.ts';

const presence = (engine: TestEngine, user: string, online: boolean) => waitFor(engine, 'presence', (p) => p.user === user && p.online === online);

/** Every event `engine` emits from now on, as JSON text (to look for a secret in any of them). */
function everyEvent(engine: TestEngine): string[] {
  const out: string[] = [];
  const names: (keyof ClientEvents)[] = ['message', 'edited', 'deleted', 'reaction', 'gap', 'error'];
  for (const name of names) engine.on(name, (e: unknown) => out.push(`${name} ${JSON.stringify(e)}`));
  return out;
}

/** The seqs of `sender`'s session `session` in `room` that `engine` would serve to catch-up. */
function served(engine: TestEngine, room: string, sender: string, session: string): number[] {
  return storeOf(engine).held.after(room, sender, session, -1, 100).map((e) => e.seq);
}

for (const server of ['bob', 'alice'] as const) {
  test(`an edited-then-deleted message: a member away during it all catches up (from ${server}) and never gets the edited text`, async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'ops');
    const { alice, bob, carol } = engines;
    const room = { room: id };
    const gone = Promise.all([presence(alice, 'carol', false), presence(bob, 'carol', false)]);
    await carol.close();
    await gone;

    const secret = `SECRET-EDIT-${'k9Z'.repeat(12)}`;
    const seen = waitFor(bob, 'message', (m) => m.text === 'the staging host is db-7');
    const m = await alice.sendRoom(id, 'the staging host is db-7');
    await seen;
    const edited = waitFor(bob, 'edited', (e) => e.id === m.id);
    await alice.edit(room, m.id, secret);
    assert.equal((await edited).text, secret);
    const deleted = waitFor(bob, 'deleted', (e) => e.id === m.id);
    await alice.deleteMessage(room, m.id);
    await deleted;
    const marker = 'after the delete';
    const markerAtBob = waitFor(bob, 'message', (x) => x.text === marker);
    await alice.sendRoom(id, marker);
    await markerAtBob;

    // Neither alice nor bob serves the message or its edit any more; both hold nothing of the edit.
    const [edit] = storeOf(alice).history.actionsOn(id, m.id, ['edit'], { from: 'alice', limit: -1 });
    assert.ok(edit, "alice's edit row is kept (without its text)");
    const message = storeOf(alice).history.get(id, m.id)!;
    for (const engine of [alice, bob]) {
      const seqs = served(engine, id, 'alice', edit.session);
      assert.equal(seqs.includes(message.seq), false, `${engine.user} does not serve the message`);
      assert.equal(seqs.includes(edit.seq), false, `${engine.user} does not serve the edit`);
      keepsNothingOf(engine, id, secret);
    }
    assert.equal((await alice.outbox()).pending.some((p) => p.id === edit.id || p.id === m.id), false, 'neither waits for carol in the outbox');

    // carol is back with only `server` online to catch up from.
    const other = server === 'bob' ? alice : bob;
    await other.close();
    const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
    const events = everyEvent(carol2);
    const got = waitFor(carol2, 'message', (x) => x.text === marker, 30_000);
    await carol2.login('carol', PASSWORD);
    await got;
    const h = await historyShows(carol2, room, (x) => x.messages.some((r) => r.text === marker));
    assert.equal(h.messages.some((r) => r.text.includes(secret)), false);
    assert.deepEqual(events.filter((e) => e.includes(secret)), [], 'carol was never shown the edited text');
    keepsNothingOf(carol2, id, secret);
    assert.equal(h.gaps, undefined, 'no gap where the message and its edit were');
  });
}

/** alice's client by hand, linked to bob (alice herself is away): sends what the test gives, in its order. */
async function handLinked(t: TestContext) {
  const { bob, id, keys, hand, link } = await aliceLinkedByHand(t, 'ops');
  const action = (a: NonNullable<MessageBody['action']>, text = '') => encryptMessage(hand.session, 'alice', keys.alice.signingKey, { time: Date.now(), text, action: a });
  return { bob, id, hand, link, action };
}

for (const present of [false, true]) {
  test(`an edit that arrives after its author's delete (the message ${present ? 'here' : 'never received'}) is scrubbed at once, never shown nor served`, async (t) => {
    const { bob, id, hand, link, action } = await handLinked(t);
    const events = everyEvent(bob);
    const secret = `SECRET-EDIT-${'q4W'.repeat(12)}`;
    const m = hand.envelope('the deploy token is in the vault');
    if (present) {
      const shown = waitFor(bob, 'message', (x) => x.id === messageId(m));
      link.send({ t: 'envelope', envelope: m });
      await shown;
    }
    const del = action({ t: 'delete', of: messageId(m) });
    const edit = action({ t: 'edit', of: messageId(m) }, secret);
    const marker = waitFor(bob, 'message', (x) => x.text === 'marker');
    link.send({ t: 'envelope', envelope: del });
    link.send({ t: 'envelope', envelope: edit });
    link.send({ t: 'envelope', envelope: hand.envelope('marker') });
    await marker;

    assert.deepEqual(events.filter((e) => e.includes(secret)), [], 'the edited text was never shown');
    keepsNothingOf(bob, id, secret);
    assert.ok(storeOf(bob).history.get(id, messageId(edit)), 'the edit row is kept (without its text)');
    assert.equal(served(bob, id, 'alice', hand.session.session).includes(edit.seq), false, 'bob does not serve the edit');
    assert.equal((await bob.search('SECRET-EDIT')).results.length, 0, 'search finds nothing of it');
  });
}

test('an edit and its delete handled in one disk write: the edited text is never emitted (the message shows deleted at once)', async (t) => {
  const { bob, id, hand, link, action } = await handLinked(t);
  const events = everyEvent(bob);
  const secret = `SECRET-EDIT-${'p2X'.repeat(12)}`;
  // bob's journal write is held until the delete is stored, so the message, its edit and its
  // delete wait for the same write (as when the disk is slow): what is shown after it must not
  // include the edited text of a message deleted in it.
  const { journal } = (bob as unknown as { s: { inbound: { journal: { append(r: unknown[]): Promise<void> } } } }).s.inbound;
  const append = journal.append.bind(journal);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  journal.append = async (records) => {
    await gate;
    return append(records);
  };
  const { history } = storeOf(bob);
  const add = history.add.bind(history);
  let deleteStored!: () => void;
  const stored = new Promise<void>((resolve) => (deleteStored = resolve));
  history.add = (m) => {
    const added = add(m);
    if (m.action?.t === 'delete') deleteStored();
    return added;
  };
  const m = hand.envelope('the deploy token is in the vault');
  const marker = waitFor(bob, 'message', (x) => x.text === 'marker');
  for (const envelope of [m, action({ t: 'edit', of: messageId(m) }, secret), action({ t: 'delete', of: messageId(m) }), hand.envelope('marker')]) link.send({ t: 'envelope', envelope });
  await stored;
  release();
  await marker;
  assert.deepEqual(events.filter((e) => e.includes(secret)), [], 'the edited text was never shown');
  assert.ok(events.some((e) => e.startsWith('message ') && e.includes(messageId(m)) && e.includes('"deleted":true')), 'the message showed deleted');
  assert.equal(bob.message({ room: id }, messageId(m))?.deleted, true);
  keepsNothingOf(bob, id, secret);
  assert.deepEqual(served(bob, id, 'alice', hand.session.session), [2, 3], 'only the delete and the marker are served');
});
