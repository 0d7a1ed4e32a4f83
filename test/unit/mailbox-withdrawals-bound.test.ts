// My deletes made while the tracker is away are kept as withdrawals from its mailbox
// (peer/outbox.ts withdraw, table mailbox_withdrawals) up to a bound; past it the oldest are
// forgotten. The delete itself is never refused (it still reaches every member); the user is told
// once, in words, with how many were forgotten, and again only after the record drained. On a real
// store; the tracker is a stand-in whose state the test sets.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import type { MailboxWithdrawItem } from '../../protocol/tracker.ts';
import { HeldEnvelopes } from '../../peer/held-envelopes.ts';
import { Mailbox } from '../../peer/mailbox.ts';
import { MAX_WAITING_PER_ENTRY, MAX_WITHDRAWALS_KEPT, OutboxStore } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';
import type { TrackerSession } from '../../peer/tracker-session.ts';

const ROOM = 'room-1';
const SESSION = 'session-1';
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function setUp(t: TestContext, maxWithdrawals?: number) {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-mbx-bound-'));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const outbox = new OutboxStore(db, maxWithdrawals === undefined ? {} : { maxWithdrawals });
  const withdrawn: string[] = [];
  const tracker = {
    state: 'reconnecting' as string,
    mailbox: { maxItemsPerUser: 5000, maxBytesPerUser: 1 << 25, maxAgeMs: 1e9 } as TrackerSession['mailbox'],
    async mailboxWithdraw(to: string, items: MailboxWithdrawItem[]) {
      for (const i of items) withdrawn.push(`${to} ${i.seq}`);
      return items.length;
    },
    async mailboxTake() {
      return { items: [], more: false };
    },
  };
  const told: { code: string; message: string }[] = [];
  const errors: unknown[] = [];
  const work: Promise<void>[] = [];
  const mailbox = new Mailbox({
    me: 'alice', tracker: tracker as unknown as TrackerSession, outbox, held: new HeldEnvelopes(db),
    handle: () => {}, durable: async () => {}, tell: (code, message) => told.push({ code, message }), report: (err) => errors.push(err),
    track: (w) => void work.push(w),
  });
  /** Messages seq from..to-1 of mine, each waiting for `members`. */
  const sent = (from: number, to: number, members: string[]) => {
    for (let seq = from; seq < to; seq++) outbox.add({ room: ROOM, roomName: 'r', id: `m${seq}`, session: SESSION, seq, sentAt: 1000 + seq }, members);
  };
  /** What the engine does on my delete (peer/delivery.ts withdrawn). */
  const deleteMine = (seq: number) => {
    if (outbox.withdraw(ROOM, SESSION, seq).length) void mailbox.withdraw();
  };
  const kept = (seq: number) => [...outbox.withdrawals(MAX_WITHDRAWALS_KEPT + 10).values()].flat().filter((i) => i.seq === seq).length;
  return { db, outbox, mailbox, tracker, told, errors, work, withdrawn, sent, deleteMine, kept };
}

test(`past ${MAX_WITHDRAWALS_KEPT} withdrawals kept, the oldest are forgotten and the user is told once how many`, async (t) => {
  const { outbox, told, errors, sent, deleteMine, kept } = await setUp(t);
  const members = Array.from({ length: MAX_WAITING_PER_ENTRY }, (_, i) => `member${i}`);
  const messages = MAX_WITHDRAWALS_KEPT / MAX_WAITING_PER_ENTRY + 1;
  sent(0, messages, members);
  // A burst of deletes in one turn while the tracker is away: one notice, at the turn's end.
  for (let seq = 0; seq < messages; seq++) deleteMine(seq);
  assert.equal(told.length, 0, 'told once the burst is over, not per delete');
  await turn();
  assert.equal(told.length, 1);
  assert.equal(told[0].code, 'quota.exceeded');
  const count = (n: number) => n.toLocaleString('en-US');
  assert.ok(told[0].message.startsWith(`${count(MAX_WAITING_PER_ENTRY)} of your deleted messages (counted once per member they waited for) will not be taken back from the tracker's mailbox`), told[0].message);
  assert.ok(told[0].message.includes(`${count(MAX_WITHDRAWALS_KEPT)} such withdrawals already wait`));
  assert.match(told[0].message, /deleted here and for every member/);
  // The newest are kept; the deletes themselves all happened.
  assert.equal(outbox.withdrawalsKept(), MAX_WITHDRAWALS_KEPT);
  assert.equal(kept(0), 0, 'the oldest delete was forgotten');
  assert.equal(kept(messages - 1), MAX_WAITING_PER_ENTRY);
  assert.deepEqual(outbox.pending(), []);

  // A later delete while the tracker is still away forgets the oldest too, and is not told again.
  sent(messages, messages + 1, members);
  deleteMine(messages);
  await turn();
  assert.equal(told.length, 1);
  assert.equal(kept(1), 0);
  assert.equal(errors.length, 0);
});

test('the notice is given again only after the tracker took every withdrawal kept', async (t) => {
  const { outbox, mailbox, tracker, told, errors, work, withdrawn, sent, deleteMine } = await setUp(t, 2);
  sent(0, 8, ['bob']);
  deleteMine(0);
  deleteMine(1);
  deleteMine(2);
  await turn();
  assert.equal(told.length, 1);
  assert.match(told[0].message, /^1 of your deleted messages .* 2 such withdrawals already wait/);
  deleteMine(3);
  await turn();
  assert.equal(told.length, 1, 'once per overflow');

  // The tracker is back: the two kept (seq 2 and 3) are taken back, the record is empty.
  tracker.state = 'online';
  await mailbox.collect();
  await Promise.all(work);
  assert.deepEqual(withdrawn, ['bob 2', 'bob 3']);
  assert.equal(outbox.withdrawalsKept(), 0);

  // Away again, and over the bound again: told again, with the new count.
  tracker.state = 'reconnecting';
  for (let seq = 4; seq < 8; seq++) deleteMine(seq);
  await turn();
  assert.equal(told.length, 2);
  assert.match(told[1].message, /^2 of your deleted messages/);
  assert.equal(errors.length, 0);
});
