// The outbox (peer/outbox.ts) on a real store in a temp folder: entries wait for each member
// until acknowledged, survive a reopen, expire by age and then by a size cap oldest first, and
// keep the room's name sealed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { isCoded } from '../../protocol/errors.ts';
import { OutboxStore, type OutboxEntry } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-outbox-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const ROOM = 'A'.repeat(43);
const DM = 'dm:alice:bob';
const entry = (seq: number, over: Partial<OutboxEntry> = {}): OutboxEntry =>
  ({ room: ROOM, roomName: 'design-review', id: `m${seq}`, session: 'S1', seq, sentAt: 1000 + seq, ...over });

test('an entry waits for each member until each acknowledges, then goes; a second ack is undefined', async (t) => {
  const dir = await folder(t);
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(() => db.close());
  const outbox = new OutboxStore(db);
  outbox.add(entry(0), ['carol', 'bob', 'bob']);
  outbox.add(entry(1), ['bob']);
  outbox.add(entry(2), []); // nobody to wait for: nothing stored
  assert.deepEqual(outbox.pending(), [{ ...entry(0), waitingFor: ['bob', 'carol'] }, { ...entry(1), waitingFor: ['bob'] }]);
  assert.deepEqual(outbox.pendingFor('carol').map((p) => p.id), ['m0']);
  assert.deepEqual(outbox.pendingFor('bob').map((p) => p.id), ['m0', 'm1']);
  assert.deepEqual(outbox.waitingFor(ROOM, 'S1', 0), ['bob', 'carol']);
  assert.deepEqual(outbox.waitingUsers(), ['bob', 'carol']);
  assert.deepEqual(outbox.delivered(ROOM, 'S1', 0, 'bob'), { id: 'm0', roomName: 'design-review', remaining: ['carol'], of: 2 }, 'of: the members it was for (bob once)');
  assert.equal(outbox.delivered(ROOM, 'S1', 0, 'bob'), undefined);
  assert.equal(outbox.delivered(ROOM, 'S1', 7, 'bob'), undefined);
  assert.deepEqual(outbox.delivered(ROOM, 'S1', 0, 'carol'), { id: 'm0', roomName: 'design-review', remaining: [], of: 2 });
  assert.deepEqual(outbox.waitingFor(ROOM, 'S1', 0), [], 'gone once everyone has it');
  assert.deepEqual(outbox.pending().map((p) => p.id), ['m1']);
  assert.deepEqual(outbox.pendingFor('carol'), []);
  assert.throws(() => outbox.add(entry(3), ['../x']), (err) => isCoded(err, 'request.invalid'));
  assert.throws(() => outbox.add(entry(3), Array.from({ length: 1001 }, (_, i) => `user${i}`)), (err) => isCoded(err, 'request.invalid'));
});

test('the outbox survives a reopen, and the room name is sealed in the file', async (t) => {
  const dir = await folder(t);
  const key = randomBytes(32);
  let db = new StoreDb(join(dir, 'store.db'), key);
  let outbox = new OutboxStore(db);
  outbox.add(entry(0, { roomName: 'project-nightingale' }), ['bob', 'carol']);
  outbox.add(entry(0, { room: DM, roomName: 'bob' }), ['bob']);
  await db.committed();
  db.close();
  assert.equal(readFileSync(join(dir, 'store.db')).includes('project-nightingale'), false);
  db = new StoreDb(join(dir, 'store.db'), key);
  t.after(() => db.close());
  outbox = new OutboxStore(db);
  assert.deepEqual(outbox.pending().map((p) => [p.room, p.roomName]), [[ROOM, 'project-nightingale'], [DM, 'bob']]);
  assert.equal(outbox.delivered(ROOM, 'S1', 0, 'bob')?.of, 2, 'how many it was for survives the reopen');
  outbox.forget(DM);
  assert.deepEqual(outbox.pending().map((p) => p.room), [ROOM]);
});

test('expire removes what is too old, then the oldest over the cap, and says for whom each was never delivered', async (t) => {
  const dir = await folder(t);
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(() => db.close());
  const outbox = new OutboxStore(db);
  for (let seq = 0; seq < 10; seq++) outbox.add(entry(seq), seq === 0 ? ['bob', 'carol'] : ['bob']);
  // Age: sentAt < 1002 (m0, m1) go; then the cap of 5 takes the oldest 3 of the 8 left (m2..m4).
  const expired = outbox.expire(2002, 1000, 5);
  assert.deepEqual(expired, [
    { room: ROOM, roomName: 'design-review', id: 'm0', user: 'bob' },
    { room: ROOM, roomName: 'design-review', id: 'm0', user: 'carol' },
    { room: ROOM, roomName: 'design-review', id: 'm1', user: 'bob' },
    { room: ROOM, roomName: 'design-review', id: 'm2', user: 'bob' },
    { room: ROOM, roomName: 'design-review', id: 'm3', user: 'bob' },
    { room: ROOM, roomName: 'design-review', id: 'm4', user: 'bob' },
  ]);
  assert.deepEqual(outbox.pending().map((p) => p.id), ['m5', 'm6', 'm7', 'm8', 'm9']);
  assert.deepEqual(outbox.pendingFor('carol'), []);
  assert.deepEqual(outbox.expire(2002, 1000, 5), []);
  assert.equal(outbox.delivered(ROOM, 'S1', 0, 'carol'), undefined, 'an expired entry is gone');
  assert.deepEqual(outbox.expiredFor(ROOM, 'S1', 0), ['bob', 'carol'], 'remembered for history: not delivered to them');
  assert.deepEqual(outbox.expiredFor(ROOM, 'S1', 5), []);
  outbox.forget(ROOM);
  assert.deepEqual(outbox.expiredFor(ROOM, 'S1', 0), [], 'a room forgotten forgets that too');
});
