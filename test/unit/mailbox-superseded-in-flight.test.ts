// A superseded entry whose deposit is on its way (peer/outbox.ts deposited, peer/mailbox.ts
// depositNow), on a real store: `supersede` withdraws only copies already marked deposited, so an
// edit superseded while the put carrying it was unanswered used to stay in the member's mailbox
// for good (nobody withdrew it). Now the put's answer records a withdrawal for each item that
// left the outbox meanwhile, and it is sent after that deposit.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import type { MailboxItem, MailboxWithdrawItem } from '../../protocol/tracker.ts';
import { HeldEnvelopes } from '../../peer/held-envelopes.ts';
import { Mailbox } from '../../peer/mailbox.ts';
import { OutboxStore } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';
import type { TrackerSession } from '../../peer/tracker-session.ts';
import { sealed } from '../helpers/mailbox.ts';

const ROOM = dmRoom('alice', 'bob');

test('an edit superseded while the put carrying it is unanswered is withdrawn once that put is answered', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-mbx-inflight-'));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const outbox = new OutboxStore(db);
  const held = new HeldEnvelopes(db);
  const { items, session } = await sealed('alice', ['bob'], ROOM, DM_HEAD, ['m0', 'edit 1 of m0', 'edit 2 of m0']);
  for (const i of items) {
    if (i.t === 'session') held.putBundle(i.bundle);
    else held.putEnvelope(i.envelope, Date.now());
  }
  const entry = (seq: number) => ({ room: ROOM, roomName: 'bob', id: `m${seq}`, session, seq, sentAt: 1000 + seq });

  // A put the test answers; every call logged in order.
  const calls: string[] = [];
  const gates: (() => void)[] = [];
  const tracker = {
    state: 'online',
    mailbox: { maxItemsPerUser: 5000, maxBytesPerUser: 1 << 25, maxAgeMs: 1e9 },
    async mailboxPut(to: string, put: MailboxItem[]) {
      const seqs = put.flatMap((i) => (i.t === 'envelope' ? [i.envelope.seq] : []));
      calls.push(`put ${to} ${seqs.join(',')}`);
      await new Promise<void>((resolve) => gates.push(resolve));
    },
    async mailboxWithdraw(to: string, named: MailboxWithdrawItem[]) {
      calls.push(`withdraw ${to} ${named.map((i) => i.seq).join(',')}`);
      return named.length;
    },
  };
  const work: Promise<void>[] = [];
  const errors: unknown[] = [];
  const mailbox = new Mailbox({
    me: 'alice', tracker: tracker as unknown as TrackerSession, outbox, held,
    handle: () => {}, durable: async () => {}, tell: (_c, m) => errors.push(m), report: (err) => errors.push(err),
    track: (w) => void work.push(w),
  });

  outbox.add(entry(0), ['bob']);
  outbox.add(entry(1), ['bob'], { t: 'edit', of: 'm0' });
  mailbox.deposit('bob');
  assert.deepEqual(calls, ['put bob 0,1']);
  // The newer edit arrives while the put is on its way: edit 1 leaves the outbox, marked nowhere.
  assert.equal(outbox.add(entry(2), ['bob'], { t: 'edit', of: 'm0' }), 0, 'not deposited yet: supersede records nothing');
  assert.equal(outbox.withdrawals(10).size, 0);
  gates.shift()!();
  await Promise.all(work);
  await Promise.all(work); // the withdrawal started by the answer
  assert.deepEqual(calls, ['put bob 0,1', 'withdraw bob 1'], 'edit 1, held by the tracker now, is taken back after the put');
  assert.equal(outbox.withdrawals(10).size, 0, 'forgotten once answered');
  assert.deepEqual(outbox.undepositedFor('bob').map((e) => e.seq), [2], 'm0 is marked deposited; the newest edit goes next');
  assert.deepEqual(errors, []);
});
