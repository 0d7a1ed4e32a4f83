// A session bundle is kept once per depositor, recipient and session on a real `node tracker
// --mailbox` (tracker/mailbox.ts put): a client deposits each message with its session's bundle
// (peer/mailbox.ts depositNow), so messages sent one at a time while a member is away used to cost
// her mailbox a bundle copy each, counted against the depositor's share, and withdrawing an
// envelope left its copy behind. Now a repeat is acknowledged, not stored nor counted, and the
// bundle goes with the last envelope of its session (withdrawn or taken).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import type { MailboxItem } from '../../protocol/tracker.ts';
import { expectCode } from '../helpers/events.ts';
import { openAll, sealed } from '../helpers/mailbox.ts';
import { onlineMember, type Member } from '../helpers/rooms.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';

const put = (from: Member, to: string, items: MailboxItem[]) => from.conn.request('mailbox_put', { to, items });

/** What `from` has in `to`'s mailbox, by kind. */
async function held(tracker: TrackerProcess, from: string, to: string): Promise<{ bundles: number; envelopes: number }> {
  const [row] = await queryDb<{ bundles: number; envelopes: number }>(tracker.dbPath,
    `SELECT COALESCE(SUM(seq IS NULL), 0) AS bundles, COALESCE(SUM(seq IS NOT NULL), 0) AS envelopes FROM mailbox WHERE depositor = ? AND recipient = ?`, from, to);
  return row;
}

test('N messages deposited one at a time, each with its bundle: 1 bundle + N envelopes; withdrawing them all leaves no bundle', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => onlineMember(tracker, n)));
  const texts = Array.from({ length: 6 }, (_, i) => `message ${i} while bob is away`);
  const { items, session } = await sealed('alice', ['bob'], dmRoom('alice', 'bob'), DM_HEAD, texts);
  const [bundle, ...envelopes] = items;

  const stored: number[] = [];
  for (const e of envelopes) stored.push((await put(alice, 'bob', [bundle, e])).stored);
  assert.deepEqual(stored, [2, 1, 1, 1, 1, 1], 'the bundle is stored by the first deposit only');
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 1, envelopes: 6 });

  // Withdrawing some: the bundle stays for the rest, which bob still opens (bundle first).
  const place = (seq: number) => ({ room: dmRoom('alice', 'bob'), session, seq });
  assert.deepEqual(await alice.conn.request('mailbox_withdraw', { to: 'bob', items: [0, 1, 2].map(place) }), { removed: 3 });
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 1, envelopes: 3 });
  // Withdrawing the last of the session: nothing is left, no bundle either.
  assert.deepEqual(await alice.conn.request('mailbox_withdraw', { to: 'bob', items: [3, 4, 5].map(place) }), { removed: 3 });
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 0, envelopes: 0 });
  assert.deepEqual((await bob.conn.request('mailbox_take', {})).items, []);

  // A later deposit of the session stores the bundle again (the one held went), ahead of its envelope.
  assert.equal((await put(alice, 'bob', [bundle, envelopes[5]])).stored, 2);
  const took = (await bob.conn.request('mailbox_take', {})).items;
  assert.deepEqual(took.map((e) => e.msg.t), ['session', 'envelope']);
  assert.deepEqual(await openAll('bob', took), [texts[5]]);
});

test('repeats are not counted: a share of 5 items takes 1 bundle + 4 messages deposited one at a time; over it, "your share of bob\'s mailbox is full"', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox', '--mailbox-max-items-per-user', '10'] });
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => onlineMember(tracker, n)));
  const texts = ['a0', 'a1', 'a2', 'a3', 'a4'];
  const { items } = await sealed('alice', ['bob'], dmRoom('alice', 'bob'), DM_HEAD, texts);
  const [bundle, ...envelopes] = items;
  for (const e of envelopes.slice(0, 4)) await put(alice, 'bob', [bundle, e]);
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 1, envelopes: 4 });
  const refused = await expectCode(put(alice, 'bob', [bundle, envelopes[4]]), 'quota.exceeded');
  assert.match(refused.message, /^your share of bob's mailbox is full: you have 5 items/);

  // Taken and acknowledged: bundle and envelopes go; bob opens all four in order.
  const took = (await bob.conn.request('mailbox_take', {})).items;
  assert.deepEqual(await openAll('bob', took), texts.slice(0, 4));
  await bob.conn.request('mailbox_ack', { upTo: took[took.length - 1].id });
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 0, envelopes: 0 });
});

test('a bundle stored again after its first copy was taken goes when the last envelope of its session is taken', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => onlineMember(tracker, n)));
  const { items } = await sealed('alice', ['bob'], dmRoom('alice', 'bob'), DM_HEAD, ['b0', 'b1', 'b2']);
  const [bundle, e0, e1, e2] = items;
  await put(alice, 'bob', [bundle, e0, e1]);
  // Bob takes a page of two (the bundle and b0) and acknowledges it; b1 waits, then alice deposits b2 (bundle again).
  const first = (await bob.conn.request('mailbox_take', { limit: 2 })).items;
  await bob.conn.request('mailbox_ack', { upTo: first[1].id });
  assert.equal((await put(alice, 'bob', [bundle, e2])).stored, 2, 'no bundle was held any more: stored again');
  const rest = (await bob.conn.request('mailbox_take', {})).items;
  assert.deepEqual(rest.map((e) => e.msg.t), ['envelope', 'session', 'envelope']);
  assert.deepEqual(await openAll('bob', [...first, ...rest]), ['b0', 'b1', 'b2']);
  // Bob acknowledges up to b1 only: b2 and its bundle stay; then up to b2: nothing is left.
  await bob.conn.request('mailbox_ack', { upTo: rest[0].id });
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 1, envelopes: 1 });
  await bob.conn.request('mailbox_ack', { upTo: rest[2].id });
  assert.deepEqual(await held(tracker, 'alice', 'bob'), { bundles: 0, envelopes: 0 });
});
