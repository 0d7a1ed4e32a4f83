// A link closed while my messages still wait for its user (dropped as a slow consumer mid
// catch-up, say) plans a retry (peer/delivery.ts linkClosed): nothing else would dial them again
// while the tracker says they stayed online. A closed link to someone nothing waits for does not.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { Delivery } from '../../peer/delivery.ts';
import { OutboxStore } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { RETRY_BACKOFF_MS } from '../../protocol/peer.ts';

const ROOM = 'A'.repeat(43);

test('a closed link to a member my messages wait for is dialled again after the first backoff', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-delivery-closed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(() => db.close());
  const outbox = new OutboxStore(db);
  const reached: string[] = [];
  let onReach: (user: string) => void = () => {};
  const delivery = new Delivery({
    outbox,
    now: () => Date.now(),
    reach: async (user) => {
      reached.push(user);
      onReach(user);
      return true;
    },
    online: () => true,
    nameOf: () => 'logs',
    emit: () => {},
    report: (err) => assert.fail(String(err)),
  });
  t.after(() => delivery.close());
  delivery.sent({ room: ROOM, roomName: 'logs', id: 'm0', session: 'S1', seq: 0, sentAt: Date.now() }, ['bob']);

  const start = Date.now();
  const bobReached = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no retry within ${RETRY_BACKOFF_MS[0] + 3000} ms`)), RETRY_BACKOFF_MS[0] + 3000);
    onReach = (user) => {
      if (user !== 'bob') return;
      clearTimeout(timer);
      resolve();
    };
  });
  // Carol's close comes first: her timer (were one set) would fire before bob's.
  delivery.linkClosed('carol');
  delivery.linkClosed('bob');
  await bobReached;
  assert.ok(Date.now() - start >= RETRY_BACKOFF_MS[0] - 50, 'after the backoff, not at once');
  assert.deepEqual(reached, ['bob'], 'nothing waits for carol: she is not dialled');
});
