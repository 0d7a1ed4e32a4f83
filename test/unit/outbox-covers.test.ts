// A superseding action's `covers` (protocol/message-actions.ts): what of mine it supersedes for the
// members it goes to (peer/outbox.ts covered, the same query as `add`'s superseding), with what
// those covered in turn (their mailbox copies were withdrawn too), newest first, bounded; and the
// field's validation at the boundary.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { MAX_COVERED, messageActionSchema, type MessageAction } from '../../protocol/message-actions.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { History } from '../../peer/history.ts';
import { OutboxStore, type OutboxEntry } from '../../peer/outbox.ts';
import { StoreDb } from '../../peer/store-db.ts';

const ROOM = 'A'.repeat(43);
/** Session ids as the wire has them (16 bytes, base64url). */
const S1 = `${'S'.repeat(21)}A`;
const S2 = `${'T'.repeat(21)}A`;
const entry = (seq: number, over: Partial<OutboxEntry> = {}): OutboxEntry =>
  ({ room: ROOM, roomName: 'design-review', id: `m${seq}`, session: S1, seq, sentAt: 1000 + seq, ...over });

async function store(t: TestContext): Promise<StoreDb> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-outbox-covers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(() => db.close());
  const history = new History(db);
  for (let i = 0; i < 3; i++) history.add({ conversation: ROOM, id: `b${i}`, from: 'bob', session: 'SB', seq: i, sentAt: 500 + i, text: `b${i}` });
  return db;
}

/** Adds `action` as `add` is used by a send: its covers looked up first, carried, then stored. */
function send(outbox: OutboxStore, e: OutboxEntry, to: string[], action: MessageAction): MessageAction {
  const covers = outbox.covered(ROOM, action, to);
  const carried = covers.length ? { ...action, covers } : action;
  outbox.add(e, to, carried);
  return carried;
}
const coversOf = (a: MessageAction) => ('covers' in a ? a.covers : undefined);

test('a receipt covers what it supersedes and what those covered, across sessions, for its members only', async (t) => {
  const outbox = new OutboxStore(await store(t));
  outbox.add(entry(0), ['carol']);
  assert.equal(coversOf(send(outbox, entry(1), ['carol'], { t: 'read', upTo: 'b0' })), undefined, 'nothing to cover');
  assert.deepEqual(coversOf(send(outbox, entry(2), ['carol'], { t: 'read', upTo: 'b1' })), [{ session: S1, seqs: [1] }]);
  // The chain: m1 left the outbox when m2 superseded it, yet m3 still names it (m2 carried it).
  assert.deepEqual(coversOf(send(outbox, entry(3), ['carol'], { t: 'read', upTo: 'b1' })), [{ session: S1, seqs: [1, 2] }]);
  assert.deepEqual(coversOf(send(outbox, entry(0, { session: S2, id: 'n0' }), ['carol'], { t: 'read', upTo: 'b2' })), [{ session: S1, seqs: [1, 2, 3] }]);
  assert.deepEqual(outbox.pending().map((p) => p.id), ['m0', 'n0'], 'add superseded the same entries');
  // Toggles of one emoji; another emoji's and another message's stay out. Dave never had m5 waiting: not his.
  send(outbox, entry(4), ['carol'], { t: 'react', of: 'b0', emoji: '👍', on: true });
  send(outbox, entry(5), ['carol'], { t: 'react', of: 'b0', emoji: '🎉', on: true });
  send(outbox, entry(6), ['carol'], { t: 'react', of: 'b1', emoji: '👍', on: true });
  assert.deepEqual(outbox.covered(ROOM, { t: 'react', of: 'b0', emoji: '👍', on: false }, ['dave']), [], 'nothing of carol\'s is dave\'s');
  assert.deepEqual(coversOf(send(outbox, entry(7), ['carol', 'dave'], { t: 'react', of: 'b0', emoji: '👍', on: false })), [{ session: S1, seqs: [4] }]);
  // Edits of one message; a delete covers nothing.
  send(outbox, entry(8), ['carol'], { t: 'edit', of: 'm0' });
  assert.deepEqual(coversOf(send(outbox, entry(9), ['carol'], { t: 'edit', of: 'm0' })), [{ session: S1, seqs: [8] }]);
  assert.deepEqual(outbox.covered(ROOM, { t: 'delete', of: 'm0' }, ['carol']), []);
});

test('covers names at most MAX_COVERED seqs, the newest', async (t) => {
  const outbox = new OutboxStore(await store(t));
  let last: MessageAction = { t: 'read', upTo: 'b0' };
  for (let seq = 0; seq < MAX_COVERED + 10; seq++) last = send(outbox, entry(seq), ['carol'], { t: 'read', upTo: 'b0' });
  const covers = coversOf(last)!;
  assert.equal(covers.length, 1);
  assert.equal(covers[0].seqs.length, MAX_COVERED);
  assert.deepEqual([covers[0].seqs[0], covers[0].seqs.at(-1)], [9, MAX_COVERED + 8], 'the oldest 9 left out');
  assert.deepEqual(messageActionSchema.parse(last), last, 'what it carries passes the boundary');
});

test('covers is checked at the boundary: count, session shape, seq shape; older clients send none', () => {
  const read = (covers: unknown) => messageActionSchema.parse({ t: 'read', upTo: 'b0', covers });
  assert.deepEqual(messageActionSchema.parse({ t: 'react', of: 'b0', emoji: '👍', on: true }), { t: 'react', of: 'b0', emoji: '👍', on: true });
  assert.deepEqual(read([{ session: S1, seqs: [0, 3] }, { session: S2, seqs: [1] }]).t, 'read');
  assert.deepEqual(messageActionSchema.parse({ t: 'edit', of: 'm0', covers: [{ session: S1, seqs: [2] }] }), { t: 'edit', of: 'm0', covers: [{ session: S1, seqs: [2] }] });
  const refused = (covers: unknown, why: string) => assert.throws(() => read(covers), (e: unknown) => e instanceof ProtocolError && e.code === 'request.invalid', why);
  refused([{ session: S1, seqs: Array.from({ length: MAX_COVERED + 1 }, (_, i) => i) }], 'too many seqs in one session');
  refused([{ session: S1, seqs: Array.from({ length: 200 }, (_, i) => i) }, { session: S2, seqs: Array.from({ length: 57 }, (_, i) => i) }], 'too many seqs in all');
  refused([{ session: S1, seqs: [] }], 'a session naming nothing');
  refused([{ session: 'short', seqs: [1] }], 'not a session id');
  refused([{ session: S1, seqs: [-1] }], 'a negative seq');
  refused([{ session: S1, seqs: [1.5] }], 'not an integer');
  refused({ session: S1, seqs: [1] }, 'not a list');
  // A delete has its own list (`edits`): covers is not read there.
  assert.deepEqual(messageActionSchema.parse({ t: 'delete', of: 'm0', covers: [{ session: S1, seqs: [1] }] }), { t: 'delete', of: 'm0' });
});
