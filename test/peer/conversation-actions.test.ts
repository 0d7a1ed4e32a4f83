// Replies, reactions, edits, deletes and read receipts (issue 12) with real engines, a real
// tracker and real links: each reaches every member, one away at the time included (caught up
// when back); only a message's author can edit or delete it, checked by every receiver against
// the signed sender (a modified client sends what the engine refuses); an action names a message
// of its own conversation only; a deleted message's text leaves every member's store files.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCoded } from '../../protocol/errors.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, collect, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { historyShows, sendRawAction, storeOf } from '../helpers/conversation.ts';

const presence = (engine: TestEngine, user: string, online: boolean) => waitFor(engine, 'presence', (p) => p.user === user && p.online === online);

/** Every file under `dir`, read raw. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

test('reply, reactions on and off, edit, delete and read receipts reach every member, one away at the time included', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  const gone = presence(alice, 'carol', false);
  await carol.close();
  await gone;

  const room = { room: id };
  const first = waitFor(bob, 'message', (m) => m.text === 'lunch at noon?');
  const m1 = await alice.sendRoom(id, 'lunch at noon?');
  await first;
  const m2Seen = waitFor(bob, 'message', (m) => m.text === 'wrong room, sorry');
  const m2 = await alice.sendRoom(id, 'wrong room, sorry');
  await m2Seen;

  const replied = waitFor(alice, 'message', (m) => m.text === 'yes, at the usual place');
  const reply = await bob.reply(room, m1.id, 'yes, at the usual place');
  assert.equal((await replied).replyTo, m1.id, 'the reply names the message it answers');

  const thumbs = waitFor(alice, 'reaction', (r) => r.emoji === '👍' && r.on);
  await bob.react(room, m1.id, '👍');
  assert.deepEqual(await thumbs, { room: 'team', roomId: id, id: m1.id, user: 'bob', emoji: '👍', on: true });
  const partyOn = waitFor(alice, 'reaction', (r) => r.emoji === '🎉' && r.on);
  await bob.react(room, m1.id, '🎉');
  await partyOn;
  const partyOff = waitFor(alice, 'reaction', (r) => r.emoji === '🎉' && !r.on);
  await bob.react(room, m1.id, '🎉', false);
  await partyOff;

  const edited = waitFor(bob, 'edited', (e) => e.id === m1.id);
  await alice.edit(room, m1.id, 'lunch at 12:30?');
  assert.deepEqual(await edited, { room: 'team', roomId: id, id: m1.id, text: 'lunch at 12:30?' });
  const deleted = waitFor(bob, 'deleted', (e) => e.id === m2.id);
  await alice.deleteMessage(room, m2.id);
  assert.deepEqual(await deleted, { room: 'team', roomId: id, id: m2.id });
  const read = waitFor(alice, 'read', (r) => r.user === 'bob');
  await bob.markRead(room, reply.messageId);
  assert.deepEqual(await read, { room: 'team', roomId: id, user: 'bob', upTo: reply.messageId, had: [m2.id] }, "bob's receipt says he had alice's m2 (his own reply is not named)");

  const expected = (h: Awaited<ReturnType<TestEngine['history']>>) => {
    const byId = new Map(h.messages.map((m) => [m.id, m]));
    const a = byId.get(m1.id);
    const b = byId.get(m2.id);
    const r = byId.get(reply.messageId);
    return h.messages.length === 3 && a?.text === 'lunch at 12:30?' && a.edited === true
      && JSON.stringify(a.reactions) === JSON.stringify([{ emoji: '👍', users: ['bob'] }])
      && b?.deleted === true && b.text === '' && r?.replyTo === m1.id;
  };
  // Every member online shows the same state; so does my own store.
  for (const engine of [alice, bob]) await historyShows(engine, room, expected);
  // `mine`: the newest of alice's messages bob had when he read, m2 (deleted since: "seen by" goes under m1).
  assert.deepEqual(alice.reads(room), [{ user: 'bob', upTo: reply.messageId, mine: m2.id }]);
  assert.equal(alice.message(room, m2.id)?.deleted, true);

  // The deleted message's envelope is no longer held for catch-up (a tombstone in its place), and
  // it waits for nobody: alice's outbox dropped it.
  for (const engine of [alice, bob]) {
    const held = storeOf(engine).db.all("SELECT length(body) AS n FROM envelopes WHERE room = ? AND sender = 'alice' ORDER BY seq", [id]).map((r) => Number(r.n));
    assert.equal(held.length, 4, `${engine.user} holds alice's 4 envelopes (2 messages, an edit, a delete)`);
    assert.equal(held.filter((n) => n === 0).length, 1, `${engine.user}: one tombstone, the deleted message's`);
  }
  assert.equal((await alice.outbox()).pending.some((p) => p.id === m2.id), false, 'a deleted message waits for nobody');

  // carol was away for all of it: caught up when back, in whatever order, to the same state, but
  // the deleted message was never served to her: she is never shown its text, nor told of a gap.
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = collect(carol2, 'message');
  await carol2.login('carol', PASSWORD);
  const atCarol = await historyShows(carol2, room, (h) => {
    const a = h.messages.find((m) => m.id === m1.id);
    return h.messages.length === 2 && a?.text === 'lunch at 12:30?' && a.edited === true && a.reactions?.length === 1;
  });
  assert.deepEqual(atCarol.messages.map((m) => m.id), [m1.id, reply.messageId], 'action messages are not shown as messages; the deleted one never reached her');
  await historyShowsReads(carol2, room, reply.messageId);
  assert.equal(shown.some((m) => m.text.includes('wrong room')), false, 'carol was never shown the deleted text');
  assert.equal(atCarol.gaps, undefined, 'the delete accounts for the message it removed: no gap');
  const atCarolHeld = storeOf(carol2).db.all("SELECT length(body) AS n FROM envelopes WHERE room = ? AND sender = 'alice'", [id]).map((r) => Number(r.n));
  assert.equal(atCarolHeld.filter((n) => n === 0).length, 1, "carol keeps a tombstone where the deleted message's envelope would be");
});

/** Waits (on read events) until `engine` holds bob's read receipt up to `upTo`. */
async function historyShowsReads(engine: TestEngine, room: { room: string }, upTo: string): Promise<void> {
  const has = () => engine.reads(room).some((r) => r.user === 'bob' && r.upTo === upTo);
  if (!has()) await waitFor(engine, 'read', () => has());
  assert.ok(has(), 'bob\'s read receipt is held');
}

test('an edit or delete by anyone but the author is refused by every receiver; one naming another room\'s message is not applied', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'ops');
  const { alice, bob, mallory } = engines;
  const room = { room: id };
  const seen = [waitFor(bob, 'message', (m) => m.text === 'deploy at 5'), waitFor(mallory, 'message', (m) => m.text === 'deploy at 5')];
  const m = await alice.sendRoom(id, 'deploy at 5');
  await Promise.all(seen);

  // The engine refuses at once, with the declared code.
  await assert.rejects(mallory.edit(room, m.id, 'deploy never'), (err) => isCoded(err) && err.code === 'message.not_author');
  await assert.rejects(mallory.deleteMessage(room, m.id), (err) => isCoded(err) && err.code === 'message.not_author');

  // A modified client sends them anyway: every receiver refuses, says so, and applies nothing.
  const refusedAtBob = [waitFor(bob, 'error', (e) => e.code === 'message.not_author' && / edit /.test(e.message)), waitFor(bob, 'error', (e) => e.code === 'message.not_author' && / delete /.test(e.message))];
  const refusedAtAlice = [waitFor(alice, 'error', (e) => e.code === 'message.not_author' && / edit /.test(e.message)), waitFor(alice, 'error', (e) => e.code === 'message.not_author' && / delete /.test(e.message))];
  const bobEdits = collect(bob, 'edited');
  const bobDeletes = collect(bob, 'deleted');
  await sendRawAction(mallory, id, { t: 'edit', of: m.id }, 'deploy never');
  await sendRawAction(mallory, id, { t: 'delete', of: m.id });
  await Promise.all([...refusedAtBob, ...refusedAtAlice]);

  // An edit in another room naming this room's message: that room holds no such message.
  const { id: side } = await alice.createRoom('side');
  const joined = waitFor(alice, 'member_joined', (e) => e.roomId === side && e.user === 'mallory');
  await mallory.joinRoom(side);
  await joined;
  await bob.joinRoom(side);
  const crossEdits = collect(alice, 'edited');
  await sendRawAction(mallory, side, { t: 'edit', of: m.id }, 'moved to friday');
  // The author's own edit, sent after all of them, is applied: everything before it was handled.
  const marker = waitFor(bob, 'edited', (e) => e.id === m.id);
  await alice.edit(room, m.id, 'deploy at 6');
  assert.equal((await marker).text, 'deploy at 6');
  const sideMarker = waitFor(alice, 'message', (x) => x.text === 'side marker');
  await mallory.sendRoom(side, 'side marker');
  await sideMarker;
  assert.deepEqual(bobEdits.map((e) => e.text), ['deploy at 6'], 'only the author\'s edit was applied');
  assert.deepEqual(bobDeletes, []);
  assert.deepEqual(crossEdits, [], 'an edit naming another room\'s message applies nowhere');
  for (const engine of [alice, bob]) {
    const row = engine.message(room, m.id);
    assert.equal(row?.text, 'deploy at 6');
    assert.equal(row?.deleted, undefined);
  }
});

test('a deleted message\'s text is gone from every member\'s store files (store.db, its WAL, everything in the folder) and rows', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'secrets');
  const { alice, bob } = engines;
  const room = { room: id };
  const secret = `the launch code is ${'x7Q'.repeat(20)}`;
  const seen = waitFor(bob, 'message', (m) => m.text === secret);
  const m = await alice.sendRoom(id, secret);
  await seen;
  const editSeen = waitFor(bob, 'edited', (e) => e.id === m.id);
  await alice.edit(room, m.id, `${secret} (corrected)`);
  await editSeen;
  // The sealed bodies as stored (the at-rest key opens them): they must leave the files too.
  const sealed = new Map<TestEngine, Buffer[]>();
  for (const engine of [alice, bob]) {
    const rows = storeOf(engine).db.all('SELECT body FROM messages WHERE conversation = ? AND (id = ? OR target = ?)', [id, m.id, m.id]);
    assert.equal(rows.length, 2, 'the message and its edit are stored');
    sealed.set(engine, rows.map((r) => Buffer.from(r.body as Uint8Array)));
  }

  const deleted = waitFor(bob, 'deleted', (e) => e.id === m.id);
  await alice.deleteMessage(room, m.id);
  await deleted;
  for (const engine of [alice, bob]) {
    const files = filesUnder(engine.dataDir);
    assert.ok(files.some((f) => f.path.endsWith('store.db')));
    for (const f of files) {
      assert.equal(f.bytes.includes(Buffer.from('launch code')), false, `${engine.user}: no plaintext in ${f.path}`);
      for (const body of sealed.get(engine)!) {
        // Any 24 bytes of the old sealed value would betray a copy.
        assert.equal(f.bytes.includes(body.subarray(body.length - 24)), false, `${engine.user}: no copy of the old sealed text in ${f.path}`);
      }
    }
    const rows = storeOf(engine).db.all('SELECT id FROM messages WHERE conversation = ?', [id]);
    for (const r of rows) {
      const stored = storeOf(engine).history.get(id, String(r.id))!;
      assert.ok(!stored.text.includes('launch code'), `${engine.user}: row ${stored.id} holds no text of it`);
    }
    const row = engine.message(room, m.id);
    assert.equal(row?.deleted, true);
    assert.equal(row?.text, '');
  }
  await assert.rejects(bob.react(room, m.id, '👍'), (err) => isCoded(err) && err.code === 'message.deleted');
  await assert.rejects(alice.edit(room, m.id, 'again'), (err) => isCoded(err) && err.code === 'message.deleted');
  // Deleting again sends nothing more (a second delete message, a second deleted event everywhere).
  await assert.rejects(alice.deleteMessage(room, m.id), (err) => isCoded(err) && err.code === 'message.deleted' && /deleted already/.test(err.message));
});

test('actions naming a message this conversation does not hold, or not an emoji, are refused by the engine', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'misc');
  const { alice } = engines;
  const room = { room: id };
  const m = await alice.sendRoom(id, 'hello');
  const notFound = (err: unknown) => isCoded(err) && err.code === 'message.not_found';
  await assert.rejects(alice.reply(room, 'no-such-id', 'hi'), notFound);
  await assert.rejects(alice.react(room, 'no-such-id', '👍'), notFound);
  await assert.rejects(alice.edit(room, 'no-such-id', 'x'), notFound);
  await assert.rejects(alice.deleteMessage(room, 'no-such-id'), notFound);
  await assert.rejects(alice.markRead(room, 'no-such-id'), notFound);
  await assert.rejects(alice.react(room, m.id, 'lol'), (err) => isCoded(err) && err.code === 'request.invalid');
  await assert.rejects(alice.edit(room, m.id, '   '), (err) => isCoded(err) && err.code === 'message.blank');
  // A message id of another conversation is not found in this one.
  const dm = await alice.sendDirect('bob', 'psst');
  await assert.rejects(alice.react(room, dm.id, '👍'), notFound);
});
