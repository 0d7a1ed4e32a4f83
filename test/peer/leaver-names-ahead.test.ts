// A leave names what the leaver sent (protocol/room-log.ts `sent`), in the leaver's own words: a
// modified client may name seqs it has not sent yet. What a leave names is therefore taken only
// from the room's other members (their catch-up) or the tracker's mailbox, never straight from
// the leaver (peer/room-messages.ts namedAtDeparture): the leaver cannot go on posting, and an
// honest message still on its way when the leave came reaches everyone from a member who holds it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collect, roomOf, seesMember, waitFor, type TestEngine } from '../helpers/engines.ts';
import { storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import type { Envelope } from '../../protocol/peer.ts';
import type { Signed } from '../../peer/signed-session.ts';

const SLOW = { timeout: 120_000 };

const signed = (e: TestEngine) => (e as unknown as { s: Signed }).s;

/**
 * Makes `e` the modified client of a leaver: it never applies room events (its own leave
 * included), so it goes on holding the room's session after leaving; `sent` replaces what its
 * leave names when given.
 */
function ignoreOwnLeave(e: TestEngine, sent?: () => { session: string; seq: number }[]): void {
  const s = signed(e) as unknown as { sync: { apply: () => Promise<void>; onLog: () => Promise<void> }; commands: { parts: { sent: unknown; left: unknown } } };
  if (sent) s.commands.parts.sent = sent;
  s.commands.parts.left = () => {};
  s.sync.apply = async () => {};
  s.sync.onLog = async () => {};
}

/** Writes `env` to `to` over a link of `from`, as its own client would send it. */
async function sendStraight(from: TestEngine, to: string, env: Envelope): Promise<void> {
  assert.ok(await signed(from).pool.sendWith(to, (link) => link.send({ t: 'envelope', envelope: env })), `no link from ${from.user} to ${to}`);
}

test('a leaver whose leave names seqs ahead cannot post into them after leaving', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'ops');
  const { alice, bob, mallory } = engines;
  await seesMember(mallory, id, 'bob');
  const seen = Promise.all([alice, bob].map((e) => waitFor(e, 'message', (m) => m.text === 'before leaving')));
  const first = await mallory.sendRoom(id, 'before leaving');
  await seen;
  const session = storeOf(mallory).history.get(id, first.id)!.session;
  // Her leave says she sent 99 messages in her session; she had sent one.
  ignoreOwnLeave(mallory, () => [{ session, seq: 99 }]);
  const left = Promise.all([alice, bob].map((e) => waitFor(e, 'member_left', (x) => x.user === 'mallory')));
  await mallory.leaveRoom(id);
  await left;
  const errors = [alice, bob].map((e) => collect(e, 'error'));
  const shown = [alice, bob].map((e) => collect(e, 'message'));
  for (let i = 1; i <= 5; i++) await mallory.sendRoom(id, `after leaving ${i}`);
  // A peer's messages are handled in order: once her direct message is shown, the five before it were handled.
  const direct = Promise.all([alice, bob].map((e) => waitFor(e, 'message', (m) => m.text === 'and now a direct one')));
  for (const e of [alice, bob]) await mallory.sendDirect(e.user!, 'and now a direct one');
  await direct;
  for (const [i, e] of [alice, bob].entries()) {
    assert.deepEqual(shown[i]!.filter((m) => m.text.startsWith('after leaving')).map((m) => m.text), [], `${e.user} shows what mallory posted after leaving`);
    const h = await e.history({ room: id });
    assert.deepEqual(h.messages.filter((m) => m.from === 'mallory').map((m) => m.text), ['before leaving'], `${e.user} stored what mallory posted after leaving`);
    assert.equal(storeOf(e).held.upTo(id, "mallory", session), storeOf(mallory).history.get(id, first.id)!.seq, `${e.user} holds mallory's envelopes after her leave (it would serve them)`);
    assert.deepEqual(errors[i], [], 'nothing to tell: the members were asked instead');
  }
});

test('a message still on its way from a member when their leave came reaches everyone from a member who has it', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'ops');
  const { alice, bob, carol } = engines;
  await seesMember(bob, id, 'carol');
  const seen = Promise.all([alice, carol].map((e) => waitFor(e, 'message', (m) => m.text === 'hello')));
  await bob.sendRoom(id, 'hello');
  await seen;
  // bob's last message reaches alice; carol's copy is slow: it arrives only after bob's leave.
  const pool = signed(bob).pool;
  const sendWith = pool.sendWith.bind(pool);
  pool.sendWith = (user, write) => (user === 'carol' ? Promise.resolve(false) : sendWith(user, write));
  const atAlice = waitFor(alice, 'message', (m) => m.text === 'last words before I go');
  const last = await bob.sendRoom(id, 'last words before I go');
  await atAlice;
  const stored = storeOf(bob).history.get(id, last.id)!;
  const env = storeOf(bob).held.after(id, 'bob', stored.session, stored.seq - 1, 1)[0]!;
  ignoreOwnLeave(bob);
  const left = waitFor(carol, 'member_left', (x) => x.user === 'bob');
  await bob.leaveRoom(id);
  await left;
  pool.sendWith = sendWith;
  const errors = collect(carol, 'error');
  const shown = waitFor(carol, 'message', (m) => m.id === last.id, 30_000);
  await sendStraight(bob, 'carol', env);
  assert.equal((await shown).text, 'last words before I go');
  const h = await carol.history({ room: id });
  assert.deepEqual(h.gaps ?? [], [], 'nothing shown missing');
  assert.deepEqual(errors, []);
});
