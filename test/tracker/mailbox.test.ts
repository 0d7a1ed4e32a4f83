// The mailbox that cannot read (`node tracker --mailbox`, tracker/mailbox.ts), on a real tracker
// with real TLS clients (peer/tracker-session.ts) and real sealed messages (peer/sender-keys.ts):
// a DM to an offline user arrives after its sender went offline; items stay until acked; they
// survive a restart; the database file holds no plaintext; the login answer advertises the
// mailbox only when it is on, and a tracker without one refuses puts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import { MAILBOX_MAX_AGE_MS, MAILBOX_MAX_BYTES_PER_USER, MAILBOX_MAX_ITEMS_PER_USER } from '../../protocol/tracker.ts';
import { registerUser } from '../helpers/accounts.ts';
import { expectCode } from '../helpers/events.ts';
import { openAll, sealed, sessionFor } from '../helpers/mailbox.ts';
import { warmUp } from '../helpers/rooms.ts';
import { FAST_TRACKER_ARGS, restartTracker, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { FAST, connectFor } from '../helpers/tracker-accounts-extra.ts';

const MAILBOX_ARGS = [...FAST_TRACKER_ARGS, '--mailbox'];

async function register(t: { after(fn: () => unknown): void }, tracker: TrackerProcess, ...users: string[]): Promise<void> {
  const conn = await connectFor(t, tracker);
  for (const user of users) {
    await warmUp(user);
    await registerUser(conn, user, FAST);
  }
}

test('a DM to an offline user arrives after its sender went offline; items stay until acked', async (t) => {
  const tracker = await startTracker(t, { args: MAILBOX_ARGS });
  await register(t, tracker, 'alice', 'bob');

  // Bob is offline: alice leaves her session bundle and two envelopes for him, then goes offline.
  const alice = await sessionFor(t, tracker, 'alice');
  const dm = dmRoom('alice', 'bob');
  const { items } = await sealed('alice', ['bob'], dm, DM_HEAD, ['hello bob', 'are you there?']);
  await alice.mailboxPut('bob', items);
  await alice.stop();

  // Bob comes online: the three items, oldest first, from alice, as she sent them.
  const bob = await sessionFor(t, tracker, 'bob');
  const first = await bob.mailboxTake();
  assert.equal(first.more, false);
  assert.deepEqual(first.items.map((e) => e.from), ['alice', 'alice', 'alice']);
  assert.deepEqual(first.items.map((e) => e.msg), items);
  assert.ok(first.items[0].id < first.items[1].id && first.items[1].id < first.items[2].id, 'ids increase, oldest first');
  assert.deepEqual(await openAll('bob', first.items), ['hello bob', 'are you there?']);

  // Not acked (a client that crashed before storing them): taken again, the same.
  assert.deepEqual(await bob.mailboxTake(), first);

  // A page: limit 2 says more; acking up to the second leaves the third.
  const page = await bob.mailboxTake(2);
  assert.equal(page.items.length, 2);
  assert.equal(page.more, true);
  await bob.mailboxAck(page.items[1].id);
  assert.deepEqual(await bob.mailboxTake(), { items: [first.items[2]], more: false });
  await bob.mailboxAck(first.items[2].id);
  assert.deepEqual(await bob.mailboxTake(), { items: [], more: false });
});

test('items survive a tracker restart, and no mailbox file holds a message text', async (t) => {
  const tracker = await startTracker(t, { args: MAILBOX_ARGS });
  await register(t, tracker, 'carol', 'dan');
  const secret = `the launch code is ${randomBytes(12).toString('hex')}`;
  const carol = await sessionFor(t, tracker, 'carol');
  const { items } = await sealed('carol', ['dan'], dmRoom('carol', 'dan'), DM_HEAD, [secret]);
  await carol.mailboxPut('dan', items);
  await carol.stop();

  // Stopped (SQLite checkpointed and closed): read every byte of the database and its side files.
  await tracker.stop();
  const files = readdirSync(tracker.dir).filter((f) => f.startsWith('tracker.db'));
  const bytes = Buffer.concat(files.map((f) => readFileSync(join(tracker.dir, f))));
  const envelope = items[1].t === 'envelope' ? items[1].envelope : assert.fail('the second item is the envelope');
  assert.ok(bytes.includes(Buffer.from(envelope.ct)), 'the sealed envelope is in the database (so the search below looks at it)');
  for (const needle of [secret, 'launch code', Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')]) {
    assert.equal(bytes.includes(Buffer.from(needle)), false, `"${needle}" is in the database`);
  }
  assert.equal(bytes.includes(Buffer.from(secret, 'utf16le')), false, 'the text in UTF-16 is in the database');

  // Started again on the same files: dan takes the items and opens the message.
  const again = await restartTracker(t, tracker, { args: MAILBOX_ARGS });
  const dan = await sessionFor(t, again, 'dan');
  const taken = await dan.mailboxTake();
  assert.deepEqual(taken.items.map((e) => e.msg), items);
  assert.deepEqual(await openAll('dan', taken.items), [secret]);
});

test('the login answer advertises the mailbox only with --mailbox; without it puts and takes are refused', async (t) => {
  const [on, off] = await Promise.all([startTracker(t, { args: MAILBOX_ARGS }), startTracker(t, { args: [...FAST_TRACKER_ARGS] })]);
  await register(t, on, 'erin', 'frank');
  await register(t, off, 'erin', 'frank');

  const withBox = await sessionFor(t, on, 'erin');
  assert.deepEqual(withBox.mailbox, { maxItemsPerUser: MAILBOX_MAX_ITEMS_PER_USER, maxBytesPerUser: MAILBOX_MAX_BYTES_PER_USER, maxAgeMs: MAILBOX_MAX_AGE_MS });

  const without = await sessionFor(t, off, 'erin');
  assert.equal(without.mailbox, undefined);
  const { items } = await sealed('erin', ['frank'], dmRoom('erin', 'frank'), DM_HEAD, ['kept in the outbox']);
  const refused = await expectCode(without.mailboxPut('frank', items), 'request.unknown_type');
  assert.match(refused.message, /--mailbox/);
  await expectCode(without.mailboxTake(), 'request.unknown_type');
  await expectCode(without.mailboxAck(1), 'request.unknown_type');
  // Still served after the refusals.
  assert.equal(typeof (await without.request('ping', {})).time, 'number');

  // The flags' bounds are what is advertised.
  const custom = await startTracker(t, { args: [...MAILBOX_ARGS, '--mailbox-max-items-per-user', '7', '--mailbox-max-bytes-per-user', '65536', '--mailbox-max-age', '90000'] });
  await register(t, custom, 'erin');
  assert.deepEqual((await sessionFor(t, custom, 'erin')).mailbox, { maxItemsPerUser: 7, maxBytesPerUser: 65536, maxAgeMs: 90000 });
});
