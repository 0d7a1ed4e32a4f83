// A deleted message's text never comes back through the tracker's mailbox (`node tracker
// --mailbox`): its author takes it back from the mailboxes of the members it still waited for
// (peer/mailbox.ts withdraw, tracker/mailbox.ts withdraw). Without that, a member away during 250+
// messages took the message on one mailbox_take page and its delete on a later one, and was shown
// the text. A withdrawal made while the tracker is unreachable is kept and sent after the resume.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { FAST_TRACKER_ARGS, restartTracker, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { PASSWORD, allowErrors, collect, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { filesHolding } from '../helpers/files-under.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';

const presence = (engine: TestEngine, user: string, online: boolean) => waitFor(engine, 'presence', (p) => p.user === user && p.online === online);
/** Envelopes `from` has waiting for `to` in the tracker's mailbox (its database, read directly). */
const waitingInMailbox = async (tracker: TrackerProcess, from: string, to: string) =>
  (await queryDb<{ n: number }>(tracker.dbPath, 'SELECT COUNT(*) AS n FROM mailbox WHERE depositor = ? AND recipient = ? AND seq IS NOT NULL', from, to))[0].n;

/** Carol signs in again from her folder; resolves with every message shown up to `last`, and her engine. */
async function carolBack(t: Parameters<typeof roomOf>[0], tracker: TrackerProcess, carol: TestEngine, last: string): Promise<{ carol2: TestEngine; shown: { text: string; id: string }[] }> {
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = collect(carol2, 'message');
  const end = waitFor(carol2, 'message', (m) => m.text === last, 60_000);
  await carol2.login('carol', PASSWORD);
  await end;
  return { carol2, shown };
}

/** A tracker with a mailbox, alice and carol in a room, and carol gone (alice saw her go offline). */
async function carolAway(t: TestContext): Promise<{ tracker: TrackerProcess; alice: TestEngine; carol: TestEngine }> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines } = await roomOf(t, tracker, ['alice', 'carol'], 'any');
  const { alice, carol } = engines;
  const gone = presence(alice, 'carol', false);
  await carol.close();
  await gone;
  return { tracker, alice, carol };
}

async function assertNeverSeen(carol2: TestEngine, shown: { text: string }[], secret: string): Promise<void> {
  assert.equal(shown.some((m) => m.text.includes(secret)), false, 'no message event with the deleted text');
  const page = await carol2.history({ user: 'alice' }, { limit: 500 });
  assert.equal(page.messages.some((m) => m.text.includes(secret)), false, 'not in her history');
  assert.deepEqual((await carol2.search(secret)).results, [], 'not found by search');
  await carol2.close();
  assert.deepEqual(filesHolding(carol2.dataDir, secret), [], 'not in any file of her data folder (store, WAL, journals)');
}

test('a message deleted after 250+ others to a member who is away never reaches them through the mailbox', async (t) => {
  const { tracker, alice, carol } = await carolAway(t);

  const secret = 'the vault code is 4417-pelican';
  const m = await alice.sendDirect('carol', secret);
  for (let i = 0; i < 260; i++) await alice.sendDirect('carol', `filler ${i}`);
  const withdrawn = tracker.waitForOutput(/mailbox items withdrawn .*depositor=alice recipient=carol/, 30_000);
  await alice.deleteMessage({ user: 'carol' }, m.id);
  await alice.sendDirect('carol', 'the end');
  assert.match(await withdrawn, /removed=1/, 'the deposited secret was taken back');
  // Shutdown lets deposits (and withdrawals) finish; then only the mailbox holds what carol lacks.
  await alice.close();
  assert.equal(await waitingInMailbox(tracker, 'alice', 'carol'), 262, '260 fillers, the delete and the end; not the secret');

  const { carol2, shown } = await carolBack(t, tracker, carol, 'the end');
  assert.equal(shown.filter((x) => x.text.startsWith('filler ')).length, 260);
  await assertNeverSeen(carol2, shown, secret);
});

test('a delete made while the tracker is unreachable is withdrawn from the mailbox once the tracker is back', async (t) => {
  const away = await carolAway(t);
  const { alice, carol } = away;
  let tracker = away.tracker;

  const secret = 'the backup passphrase is orbit-tulip-93';
  const m = await alice.sendDirect('carol', secret);
  // Enough after it that its delete comes on a later mailbox page than it did.
  for (let i = 0; i < 255; i++) await alice.sendDirect('carol', `filler ${i}`);
  // Her close lets the deposits finish; she comes back from her folder.
  await alice.close();
  assert.equal(await waitingInMailbox(tracker, 'alice', 'carol'), 256);
  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  await alice2.login('alice', PASSWORD);
  // Her sign-in's own mailbox work may be cut short by the stop below (told, then done again).
  allowErrors(alice2, (e) => e.code === 'server.shutdown');

  // The tracker goes away; alice deletes meanwhile: nothing can be sent, the withdrawal is kept.
  const port = tracker.port;
  const lost = waitFor(alice2, 'connection', (c) => c.state !== 'online', 20_000);
  await tracker.stop();
  await lost;
  await alice2.deleteMessage({ user: 'carol' }, m.id);

  const back = waitFor(alice2, 'connection', (c) => c.state === 'online', 30_000);
  tracker = await restartTracker(t, tracker, { args: [...FAST_TRACKER_ARGS, '--mailbox', '--port', String(port)] });
  await back;
  const withdrawn = tracker.waitForOutput(/mailbox items withdrawn .*depositor=alice recipient=carol/, 30_000);
  // Her second run knows what her first deposited (the store marks it): the one copy goes.
  assert.match(await withdrawn, /removed=1\b/, 'sent after the resume');
  await alice2.sendDirect('carol', 'the end');
  await alice2.close();

  const { carol2, shown } = await carolBack(t, tracker, carol, 'the end');
  assert.equal(shown.filter((x) => x.text.startsWith('filler ')).length, 255);
  await assertNeverSeen(carol2, shown, secret);
});
