// The order of a withdrawal and a deposit (peer/mailbox.ts) on a real store: a message deleted
// while a deposit carrying it is in flight is withdrawn only after that deposit was answered (the
// tracker would otherwise remove nothing and then store it), a later deposit never carries it, and
// a withdrawal the tracker could not take (offline) is kept in the store and sent on the next
// collect (sign-in or resume), then forgotten.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import type { MailboxItem, MailboxWithdrawItem } from '../../protocol/tracker.ts';
import { HeldEnvelopes } from '../../peer/held-envelopes.ts';
import { Mailbox } from '../../peer/mailbox.ts';
import { OutboxStore } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';
import type { TrackerSession } from '../../peer/tracker-session.ts';
import { sealed } from '../helpers/mailbox.ts';

const ROOM = dmRoom('alice', 'bob');

/** A tracker session whose answers the test gives: puts wait for `release`; every call is logged in order. */
function fakeTracker() {
  const calls: string[] = [];
  const gates: (() => void)[] = [];
  const tracker = {
    state: 'online' as string,
    mailbox: { maxItemsPerUser: 5000, maxBytesPerUser: 1 << 25, maxAgeMs: 1e9 } as TrackerSession['mailbox'],
    async mailboxPut(to: string, items: MailboxItem[]) {
      const seqs = items.flatMap((i) => (i.t === 'envelope' ? [i.envelope.seq] : []));
      calls.push(`put ${to} ${seqs.join(',')} sent`);
      await new Promise<void>((resolve) => gates.push(resolve));
      calls.push(`put ${to} ${seqs.join(',')} answered`);
    },
    async mailboxWithdraw(to: string, items: MailboxWithdrawItem[]) {
      if (tracker.state !== 'online') throw new ProtocolError('server.timeout', 'not connected to the tracker');
      calls.push(`withdraw ${to} ${items.map((i) => i.seq).join(',')}`);
      return items.length;
    },
  };
  return { tracker, calls, release: () => gates.shift()?.() };
}

async function setUp(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-mbx-order-'));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const outbox = new OutboxStore(db);
  const held = new HeldEnvelopes(db);
  const { items, session } = await sealed('alice', ['bob'], ROOM, DM_HEAD, ['m0', 'secret', 'm2']);
  for (const i of items) {
    if (i.t === 'session') held.putBundle(i.bundle);
    else held.putEnvelope(i.envelope, Date.now());
  }
  for (let seq = 0; seq < 3; seq++) outbox.add({ room: ROOM, roomName: 'bob', id: `m${seq}`, session, seq, sentAt: 1000 + seq }, ['bob']);
  const fake = fakeTracker();
  const work: Promise<void>[] = [];
  const errors: unknown[] = [];
  const mailbox = new Mailbox({
    me: 'alice', tracker: fake.tracker as unknown as TrackerSession, outbox, held,
    handle: () => {}, durable: async () => {}, tell: (_c, m) => errors.push(m), report: (err) => errors.push(err),
    track: (w) => void work.push(w),
  });
  /** What the engine does on my delete of seq (room-messages.ts deletedAfter, delivery.ts withdrawn). */
  const deleteMine = (seq: number) => {
    held.tombstone(ROOM, 'alice', session, seq, Date.now());
    if (outbox.withdraw(ROOM, session, seq).length) void mailbox.withdraw();
  };
  return { db, outbox, mailbox, fake, work, errors, deleteMine };
}

test('a delete during a deposit carrying the message is withdrawn after that deposit is answered; no later deposit carries it', async (t) => {
  const { outbox, mailbox, fake, work, errors, deleteMine } = await setUp(t);
  mailbox.deposit('bob');
  assert.deepEqual(fake.calls, ['put bob 0,1,2 sent']);
  deleteMine(1);
  // The withdrawal waits for the put in flight (it would find nothing yet).
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(fake.calls, ['put bob 0,1,2 sent']);
  assert.deepEqual([...outbox.withdrawals(10)], [['bob', [{ room: ROOM, session: outbox.pending()[0].session, seq: 1 }]]], 'kept in the store meanwhile');
  fake.release();
  await Promise.all(work);
  assert.deepEqual(fake.calls, ['put bob 0,1,2 sent', 'put bob 0,1,2 answered', 'withdraw bob 1']);
  assert.equal(outbox.withdrawals(10).size, 0, 'forgotten once answered');

  // A deposit after the tracker dropped everything (all forgotten as deposited): seq 1 is not in it.
  mailbox.dropped('bob', [0, 1, 2].map((seq) => ({ room: ROOM, sender: 'alice', session: outbox.pending()[0].session, seq, reason: 'expired' as const })));
  mailbox.deposit('bob');
  fake.release();
  await Promise.all(work);
  assert.deepEqual(fake.calls.slice(3), ['put bob 0,2 sent', 'put bob 0,2 answered']);
  assert.equal(errors.filter((e) => !String(e).includes('dropped')).length, 0);
});

test('a withdrawal the tracker could not take is kept in the store and sent on the next collect', async (t) => {
  const { outbox, mailbox, fake, work, deleteMine } = await setUp(t);
  fake.tracker.state = 'reconnecting';
  deleteMine(1);
  await Promise.all(work);
  assert.deepEqual(fake.calls, []);
  assert.equal(outbox.withdrawals(10).get('bob')?.length, 1, 'kept');
  fake.tracker.state = 'online';
  // collect() also reads my own mailbox: nothing there.
  Object.assign(fake.tracker, { mailboxTake: async () => ({ items: [], more: false }) });
  await mailbox.collect();
  await Promise.all(work);
  assert.deepEqual(fake.calls, ['withdraw bob 1']);
  assert.equal(outbox.withdrawals(10).size, 0);
});
