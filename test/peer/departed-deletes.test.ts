// A departed member's deletes are bounded by their own messages here (DESIGN.md "A member's
// deletes outlive their membership"; peer/room-messages.ts onEnvelope): a kicked member whose
// client ignores the room log, sending deletes of made-up ids or of a message already deleted,
// must not add a row or a held envelope to anyone's store (each would grow every store and push
// envelopes held for away members out of the per-room cap).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { PASSWORD, allowErrors, collect, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { sendRawAction, storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** Rows and held envelopes `engine` stores for `room`. */
function counts(engine: TestEngine, room: string): { rows: number; held: number } {
  const db = storeOf(engine).db;
  const n = (sql: string) => Number(db.get(sql, [room])!.n);
  return { rows: n('SELECT count(*) AS n FROM messages WHERE conversation = ?'), held: n('SELECT count(*) AS n FROM envelopes WHERE room = ?') };
}

test('a kicked member\'s deletes of made-up ids and of a deleted message leave the others\' stores unchanged', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'ops');
  const { alice, bob, mallory } = engines;
  for (let i = 0; i < 100 && !mallory.members(id).some((r) => r.user === 'bob'); i++) await new Promise((r) => setTimeout(r, 100));
  const others = [alice, bob];
  const arrived = (text: string) => Promise.all(others.map((e) => waitFor(e, 'message', (m) => m.text === text)));
  let seen = arrived('gone');
  const gone = await mallory.sendRoom(id, 'gone');
  await seen;
  seen = arrived('live');
  const live = await mallory.sendRoom(id, 'live');
  await seen;
  const goneDeleted = Promise.all(others.map((e) => waitFor(e, 'deleted', (d) => d.id === gone.id)));
  await mallory.deleteMessage({ room: id }, gone.id);
  await goneDeleted;
  // The modified client: never applies room events again, so it keeps sending as a member.
  const s = (mallory as unknown as { s: { sync: { apply: () => Promise<void>; onLog: () => Promise<void> } } }).s;
  s.sync.apply = async () => {};
  s.sync.onLog = async () => {};
  const kicked = Promise.all(others.map((e) => waitFor(e, 'member_kicked', (k) => k.user === 'mallory')));
  await alice.kick(id, 'mallory');
  await kicked;
  for (const e of others) allowErrors(e, (err) => err.code === 'room.not_member' && /from mallory/.test(err.message));
  const refusals = others.map((e) => collect(e, 'error'));
  const before = others.map((e) => counts(e, id));

  const MADE_UP = 20;
  for (let i = 0; i < MADE_UP; i++) await sendRawAction(mallory, id, { t: 'delete', of: randomBytes(12).toString('base64url').slice(0, 16) });
  await sendRawAction(mallory, id, { t: 'delete', of: gone.id });
  // Her own live message is still hers to remove; it comes last on the same link, so once it is
  // applied every earlier delete has been handled.
  const liveDeleted = Promise.all(others.map((e) => waitFor(e, 'deleted', (d) => d.id === live.id, 30_000)));
  await sendRawAction(mallory, id, { t: 'delete', of: live.id });
  await liveDeleted;

  others.forEach((e, i) => {
    assert.deepEqual(counts(e, id), { rows: before[i].rows + 1, held: before[i].held + 1 }, `${e.user} stored only the delete of her live message`);
    assert.equal(refusals[i].filter((err) => err.code === 'room.not_member').length, MADE_UP + 1, `${e.user} refused the rest`);
  });
});

test('a departed member\'s delete of a message a member never got reaches her as what his leave names: no text, no gap, no refusal', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'ops');
  const { alice, bob, carol } = engines;
  for (let i = 0; i < 100 && !bob.members(id).some((r) => r.user === 'carol'); i++) await new Promise((r) => setTimeout(r, 100));
  const first = waitFor(carol, 'message', (m) => m.text === 'first');
  await bob.sendRoom(id, 'first');
  await first;
  const gone = waitFor(bob, 'presence', (p) => p.user === 'carol' && !p.online);
  await carol.close();
  await gone;
  // Sent and deleted while carol was away: she never gets the message (bob leaves before she is back).
  const atAlice = waitFor(alice, 'message', (m) => m.text === 'salary');
  const m = await bob.sendRoom(id, 'salary');
  await atAlice;
  const deleted = waitFor(alice, 'deleted', (d) => d.id === m.id);
  await bob.deleteMessage({ room: id }, m.id);
  await deleted;
  const left = waitFor(alice, 'member_left', (e) => e.user === 'bob');
  await bob.leaveRoom(id);
  await left;
  // In alice's session begun after bob left: served after bob's (catch-up goes oldest session first).
  await alice.sendRoom(id, 'marker');

  const again = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const errors = collect(again, 'error');
  const marker = waitFor(again, 'message', (x) => x.text === 'marker', 30_000);
  await again.login('carol', PASSWORD);
  await marker;
  assert.deepEqual(errors.map((e) => e.code), []);
  const fromBob = Number(storeOf(again).db.get(`SELECT count(*) AS n FROM messages WHERE conversation = ? AND sender = 'bob'`, [id])!.n);
  assert.equal(fromBob, 2, 'carol holds bob\'s first message and the delete, never the deleted message');
  const h = await again.history({ room: id });
  assert.deepEqual(h.messages.filter((x) => x.from === 'bob').map((x) => x.text), ['first']);
  assert.deepEqual(h.gaps ?? [], [], 'the delete closed the hole its message left');
  assert.deepEqual((await again.search('salary')).results, []);
});
