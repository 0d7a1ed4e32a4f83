// The mailbox's rules and bounds on a real `node tracker --mailbox` (tracker/mailbox.ts): who may
// leave what for whom (the sender is the depositor; DM names; current room members, so a kicked
// member gets nothing deposited after the kick), the quotas (refused, or max-min fair eviction), expiry told
// to the depositor online and after its next login, big items past the pre-login frame limit,
// and an admin-deleted user's mailbox going with the account.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import { encodeFrame, TRACKER_FRAME_LIMIT } from '../../protocol/frame.ts';
import type { MailboxItem } from '../../protocol/tracker.ts';
import { loginUser } from '../helpers/accounts.ts';
import { expectCode, nextEvent } from '../helpers/events.ts';
import { sealed } from '../helpers/mailbox.ts';
import { appendEvent, createRoom, headOf, join, onlineMember, uniqueName, type Member } from '../helpers/rooms.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { FAST, connectFor, queryDb, runTrackerCli } from '../helpers/tracker-accounts-extra.ts';

const put = (from: Member, to: string, items: MailboxItem[]) => from.conn.request('mailbox_put', { to, items });
const taken = async (m: Member) => (await m.conn.request('mailbox_take', {})).items;
const dm = (a: Member, b: Member, texts = ['hi']) => sealed(a.user, [b.user], dmRoom(a.user, b.user), DM_HEAD, texts).then((s) => s.items);

async function members(tracker: TrackerProcess, ...names: string[]): Promise<Member[]> {
  return Promise.all(names.map((n) => onlineMember(tracker, n)));
}

test('refused puts: to oneself, unknown user, another sender, others\' DM, non-members, kicked members, bad items; nothing stored', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const [alice, bob, carol, dave] = await members(tracker, 'alice', 'bob', 'carol', 'dave');
  const room = await createRoom(alice, uniqueName('room'));
  await join(bob, room);
  await join(carol, room);
  const inRoom = async (from: Member, wrapsFor: string[]) => (await sealed(from.user, wrapsFor, room.id, await headOf(from.conn, room.id), ['room text'])).items;

  await expectCode(put(alice, 'alice', await dm(alice, bob)), 'request.invalid');
  await expectCode(put(alice, 'nobody', await dm(alice, bob)), 'user.not_found');
  await expectCode(put(alice, 'bob', []), 'request.invalid');
  // Carol's envelopes replayed by alice; alice's items of bob's DM with carol.
  await expectCode(put(alice, 'bob', await inRoom(carol, ['bob'])), 'request.invalid');
  await expectCode(put(alice, 'bob', (await sealed('alice', ['bob'], dmRoom('bob', 'carol'), DM_HEAD, ['x'])).items), 'room.not_member');
  // Dave is in no room: he may not deposit there, and nothing is kept for him there.
  await expectCode(put(dave, 'bob', (await sealed('dave', ['bob'], room.id, room.summary.head, ['x'])).items), 'room.not_member');
  await expectCode(put(alice, 'dave', await inRoom(alice, ['dave'])), 'room.not_member');
  // A bundle without a key for the recipient; a room that does not exist; kinds a mailbox never holds.
  await expectCode(put(alice, 'bob', (await inRoom(alice, ['carol'])).slice(0, 1)), 'request.invalid');
  await expectCode(put(alice, 'bob', (await sealed('alice', ['bob'], 'A'.repeat(43), DM_HEAD, ['x'])).items), 'room.not_found');
  await expectCode(alice.conn.request('mailbox_put', { to: 'bob', items: [{ t: 'typing', room: dmRoom('alice', 'bob'), active: true }] as never }), 'request.invalid');
  await expectCode(alice.conn.request('mailbox_put', { to: 'bob', items: [{ t: 'ping' }] as never }), 'request.invalid');
  assert.deepEqual(await taken(bob), [], 'nothing refused was stored');
  assert.deepEqual(await taken(dave), []);

  // Before the kick alice's items for bob are kept; after it, nothing either way.
  const before = await inRoom(alice, ['bob', 'carol']);
  await put(alice, 'bob', before);
  await appendEvent(alice, room, 'kick', { subject: 'bob' });
  const refused = await expectCode(put(alice, 'bob', await inRoom(alice, ['bob', 'carol'])), 'room.not_member');
  assert.match(refused.message, /bob is not a member/);
  await expectCode(put(bob, 'alice', (await sealed('bob', ['alice'], room.id, room.summary.head, ['x'])).items), 'room.not_member');
  assert.deepEqual((await taken(bob)).map((e) => e.msg), before, 'only what was left before the kick');
  // Carol, still a member, can be written to.
  assert.deepEqual(await put(alice, 'carol', await inRoom(alice, ['carol'])), { stored: 2 });

  // Logged in, a put may pass the pre-login frame limit (a big envelope); before login it may not.
  const big = await dm(alice, bob, ['x'.repeat(60_000)]);
  assert.ok(encodeFrame({ type: 'mailbox_put', to: 'bob', items: big }).length > TRACKER_FRAME_LIMIT);
  assert.deepEqual(await put(alice, 'bob', big), { stored: 2 });
  const anonymous = await connectFor(t, tracker);
  const closed = new Promise<Error | undefined>((resolve) => anonymous.once('close', resolve));
  anonymous.sendRaw(encodeFrame({ id: 1, type: 'mailbox_put', to: 'bob', items: big }, 1 << 20));
  assert.equal((await closed as { code?: string } | undefined)?.code, 'request.too_large');
});

test('quotas: per mailbox, per depositor in one mailbox and in all, in items and bytes; refused whole, or the heaviest holder\'s oldest evicted', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox', '--mailbox-max-items-per-user', '4', '--mailbox-max-bytes-per-user', '40000'] });
  const [alice, bob, carol, dave, erin, frank, gina] = await members(tracker, 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina');

  assert.deepEqual(await put(alice, 'bob', await dm(alice, bob)), { stored: 2 });
  assert.match((await expectCode(put(alice, 'bob', (await dm(alice, bob)).slice(0, 1)), 'quota.exceeded')).message, /half/);
  await put(carol, 'bob', await dm(carol, bob));
  // Full, but dave holds less than alice and carol: alice's oldest envelope goes (and her bundle, spent with it).
  assert.deepEqual(await put(dave, 'bob', (await dm(dave, bob)).slice(0, 1)), { stored: 1 });
  const full = await taken(bob);
  assert.deepEqual(full.map((e) => e.from), ['carol', 'carol', 'dave'], 'the refused put stored nothing; the fitting one evicted alice\'s');
  await put(alice, 'carol', await dm(alice, carol));
  await put(alice, 'erin', await dm(alice, erin)); // her two in bob's mailbox went: two more elsewhere
  assert.match((await expectCode(put(alice, 'dave', (await dm(alice, dave)).slice(0, 1)), 'quota.exceeded')).message, /you have 4 items, \d+ bytes waiting in mailboxes/);

  // Bytes: one envelope of ~16 KB each from erin and gina fits frank's 40000; a third, as heavy as each, does not.
  const envelopeOf = async (from: Member) => (await dm(from, frank, ['y'.repeat(12_000)])).slice(1);
  await put(erin, 'frank', await envelopeOf(erin));
  await put(gina, 'frank', await envelopeOf(gina));
  assert.match((await expectCode(put(dave, 'frank', await envelopeOf(dave)), 'quota.exceeded')).message, /frank's mailbox is full \(2 items, \d+ bytes/);
  // And one depositor's half of a mailbox in bytes: 24 KB of text alone is over 20000.
  assert.match((await expectCode(put(dave, 'carol', (await dm(dave, carol, ['z'.repeat(24_000)])).slice(1)), 'quota.exceeded')).message, /half/);

  // Acked items free the space: dave's deposit for bob now fits.
  await bob.conn.request('mailbox_ack', { upTo: full[2].id });
  assert.deepEqual(await put(dave, 'bob', (await dm(dave, bob)).slice(0, 1)), { stored: 1 });

  // An admin deletes bob: his mailbox and his deposits go with the account.
  await put(bob, 'carol', (await dm(bob, carol)).slice(0, 1));
  const count = async () => (await queryDb<{ n: number }>(tracker.dbPath, "SELECT COUNT(*) AS n FROM mailbox WHERE recipient = 'bob' OR depositor = 'bob'"))[0].n;
  assert.equal(await count(), 2);
  const cli = await runTrackerCli(['users', 'delete', 'bob', '--db', tracker.dbPath]);
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.equal(await count(), 0);
});

test('expired items are dropped and their depositor told: at once when online, after its next login when not', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox', '--mailbox-max-age', '1'] });
  const [alice, bob, carol] = await members(tracker, 'alice', 'bob', 'carol');

  // Alice online: bob's login (its bcrypt takes far longer than 1 ms) sweeps, and alice is told.
  const left = await sealed('alice', ['bob'], dmRoom('alice', 'bob'), DM_HEAD, ['too late']);
  await put(alice, 'bob', left.items);
  const told = nextEvent(alice.conn, 'mailbox_dropped');
  const bobAgain = await connectFor(t, tracker);
  await loginUser(bobAgain, 'bob', FAST);
  const room = dmRoom('alice', 'bob');
  assert.deepEqual(await told, {
    event: 'mailbox_dropped',
    to: 'bob',
    items: [
      { room, sender: 'alice', session: left.session, reason: 'expired' },
      { room, sender: 'alice', session: left.session, seq: 0, reason: 'expired' },
    ],
  });
  assert.deepEqual(await taken(bob), []);

  // Carol leaves items for bob and goes offline; they expire while she is away (bob's take sweeps).
  const hers = await sealed('carol', ['bob'], dmRoom('bob', 'carol'), DM_HEAD, ['also late']);
  await put(carol, 'bob', hers.items);
  await carol.conn.request('logout', {});
  await loginUser(await connectFor(t, tracker), 'bob', FAST);
  assert.deepEqual((await bobAgain.request('mailbox_take', {})).items, []);
  const notices = async () => (await queryDb<{ n: number }>(tracker.dbPath, "SELECT COUNT(*) AS n FROM mailbox_drops WHERE depositor = 'carol'"))[0].n;
  assert.equal(await notices(), 2, 'kept for carol while she is offline');
  // Carol logs in again: the notices come after the login answer, and are then deleted.
  const carolAgain = await connectFor(t, tracker);
  const toCarol = nextEvent(carolAgain, 'mailbox_dropped');
  await loginUser(carolAgain, 'carol', FAST);
  assert.deepEqual((await toCarol).items.map((d) => [d.sender, d.session, d.seq, d.reason]), [
    ['carol', hers.session, undefined, 'expired'],
    ['carol', hers.session, 0, 'expired'],
  ]);
  // Its answer follows the notices' deletion (the tracker's database statements run in order).
  await carolAgain.request('mailbox_take', {});
  assert.equal(await notices(), 0);
});
