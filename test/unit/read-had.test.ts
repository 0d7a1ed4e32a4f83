// A read receipt's `had` (h6 "seen": "seen by" only on messages the reader had when they read),
// over a real store.db: the wire field is refused when malformed or oversized (like any malformed
// body); what the reader puts in it (History.heldUpTo: each other sender's newest message at or
// before the position, bounded); and what a receiver makes of it (History.reads `mine`): only a
// shown message of mine counts, anything else in it (made up, someone else's, an action row) counts
// for none; a later receipt naming the same message replaces the earlier one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_READ_HAD, messageActionSchema } from '../../protocol/message-actions.ts';
import { messageBodySchema } from '../../protocol/peer.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { HAD_WINDOW, type StoredMessage } from '../../peer/history.ts';
import { HeldEnvelopes } from '../../peer/held-envelopes.ts';
import type { TimelineItem } from '../../protocol/view.ts';
import { ReadMarks } from '../../extension/read-state.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const msg = (id: string, from: string, sentAt: number, over: Partial<StoredMessage> = {}) => storedMessage(id, from, { sentAt, text: over.action ? '' : id, ...over });
const receipt = (id: string, from: string, upTo: string, sentAt: number, had?: string[]) => msg(id, from, sentAt, { action: { t: 'read', upTo, ...(had ? { had } : {}) } });

test('a receipt whose `had` is not a list of message ids, or lists more than MAX_READ_HAD, is refused at the boundary', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);
  assert.deepEqual(messageActionSchema.parse({ t: 'read', upTo: 'm1' }), { t: 'read', upTo: 'm1' }, "an older client's receipt");
  assert.deepEqual(messageActionSchema.parse({ t: 'read', upTo: 'm1', had: ids(MAX_READ_HAD) }), { t: 'read', upTo: 'm1', had: ids(MAX_READ_HAD) });
  const refused = [
    ids(MAX_READ_HAD + 1),
    ids(100_000),
    'm1',
    { m1: true },
    [''],
    ['x'.repeat(65)],
    [42],
    [null],
    [['m1']],
  ];
  for (const had of refused) {
    assert.throws(() => messageActionSchema.parse({ t: 'read', upTo: 'm1', had }), (e: unknown) => e instanceof ProtocolError && e.code === 'request.invalid', JSON.stringify(had).slice(0, 40));
    const body = { id: 'r1', time: 1, text: '', action: { t: 'read', upTo: 'm1', had } };
    assert.throws(() => messageBodySchema.parse(body), ProtocolError, 'the whole body is refused');
  }
});

test("the reader's `had`: each other sender's newest message at or before the position, newest first, bounded", async (t) => {
  const { history } = await storeFixture(t, 'p2p-read-had-');
  history.add(msg('a1', 'alice', 1000));
  history.add(msg('c1', 'carol', 2000));
  history.add(msg('a2', 'alice', 3000));
  history.add(msg('b1', 'bob', 3500));
  history.add(msg('x', 'carol', 4000));
  history.add(msg('a3', 'alice', 5000));
  history.add(msg('react', 'dave', 4500, { action: { t: 'react', of: 'a1', emoji: '👍', on: true } }));
  assert.deepEqual(history.heldUpTo(ROOM, 'x', 'bob'), ['x', 'a2'], "carol's x and alice's a2; not alice's a3 (after x), not bob's own, not an action row");
  assert.deepEqual(history.heldUpTo(ROOM, 'a1', 'bob'), ['a1']);
  assert.deepEqual(history.heldUpTo(ROOM, 'made-up', 'bob'), []);
  assert.deepEqual(history.heldUpTo(ROOM, 'react', 'bob'), [], 'an action row is no position');
});

test("a sender's message overtaken on the way (a hole in their session held here) is not in `had`: their newest below the hole is", async (t) => {
  const { db, history } = await storeFixture(t, 'p2p-read-had-hole-');
  const held = new HeldEnvelopes(db);
  const envelope = (seq: number) => db.write(() => db.run('INSERT INTO envelopes (room, sender, session, seq, received_at, body) VALUES (?, ?, ?, ?, ?, ?)', [ROOM, 'carol', 'S-c', seq, 1, Buffer.alloc(40)]));
  const carol = (id: string, seq: number, sentAt: number) => {
    history.add(msg(id, 'carol', sentAt, { session: 'S-c', seq }));
    envelope(seq);
  };
  const hole = (sender: string, session: string, seq: number) => held.holeBelow(ROOM, sender, session, seq);
  carol('c0', 0, 1000);
  // c1 (seq 1) is on its way (in a mailbox); c2 and c3 came first.
  carol('c2', 2, 3000);
  carol('c3', 3, 4000);
  history.add(msg('x', 'dave', 5000));
  assert.deepEqual(history.heldUpTo(ROOM, 'x', 'bob'), ['x', 'c3'], 'by position alone: carol\'s newest');
  assert.deepEqual(history.heldUpTo(ROOM, 'x', 'bob', hole), ['x', 'c0'], 'c1 is missing: only c0 of hers is known had with all before it');
  carol('c1', 1, 2000);
  assert.deepEqual(history.heldUpTo(ROOM, 'x', 'bob', hole), ['x', 'c3'], 'c1 came: the hole is closed');
});

test('`had` names at most MAX_READ_HAD senders, the newest; a sender silent for more than HAD_WINDOW messages is left out', async (t) => {
  const { db, history } = await storeFixture(t, 'p2p-read-had-many-');
  db.write(() => {
    history.add(msg('old', 'olive', 1));
    for (let i = 0; i < HAD_WINDOW; i++) history.add(msg(`m${i}`, `u${i % (MAX_READ_HAD + 10)}`, 10 + i));
  });
  await db.committed();
  const started = performance.now();
  const had = history.heldUpTo(ROOM, `m${HAD_WINDOW - 1}`, 'bob');
  const ms = performance.now() - started;
  console.log(`heldUpTo over ${HAD_WINDOW} shown rows, ${MAX_READ_HAD + 10} senders: ${ms.toFixed(1)} ms`);
  assert.equal(had.length, MAX_READ_HAD);
  assert.deepEqual(had.slice(0, 2), [`m${HAD_WINDOW - 1}`, `m${HAD_WINDOW - 2}`]);
  assert.ok(!had.includes('old'));
});

test("a receiver counts a receipt's `had` only for its own shown messages; a later receipt naming the same message replaces the earlier", async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-read-had-reads-');
  const receive = (m: StoredMessage) => {
    assert.ok(history.add(m));
    actions.applied(m, named);
  };
  history.add(msg('a1', 'alice', 1000));
  history.add(msg('c1', 'carol', 2000));
  history.add(msg('a2', 'alice', 3000));
  history.add(msg('x', 'carol', 4000));
  history.add(msg('react', 'carol', 4100, { action: { t: 'react', of: 'a1', emoji: '👍', on: true } }));
  const bob = (me: string) => history.reads(ROOM, { users: ['bob'], limit: 1, me })[0];

  receive(receipt('r0', 'bob', 'x', 5000));
  assert.deepEqual(bob('alice'), { user: 'bob', upTo: 'x' }, 'without `had` (an older client): no `mine`, the position counts');
  assert.deepEqual(history.reads(ROOM, { limit: 1 }), [{ user: 'bob', upTo: 'x' }], 'not asked for: no `mine`, no row opened');

  receive(receipt('r1', 'bob', 'x', 5100, ['x', 'a1']));
  assert.deepEqual(bob('alice'), { user: 'bob', upTo: 'x', mine: 'a1' }, 'the later receipt naming x counts: bob had a1, not a2');
  assert.deepEqual(bob('carol'), { user: 'bob', upTo: 'x', mine: 'x' });

  // Forged or malformed entries count for nothing: made up, another's message, an action row.
  receive(receipt('r2', 'bob', 'x', 5200, ['made-up', 'c1', 'react']));
  assert.deepEqual(bob('alice'), { user: 'bob', upTo: 'x', mine: null });
  receive(receipt('r3', 'bob', 'x', 5300, []));
  assert.deepEqual(bob('alice'), { user: 'bob', upTo: 'x', mine: null });
  // Several of mine (a modified client): the earliest counts.
  receive(receipt('r4', 'bob', 'x', 5400, ['a2', 'a1']));
  assert.deepEqual(bob('alice'), { user: 'bob', upTo: 'x', mine: 'a1' });
  receive(receipt('r5', 'bob', 'x', 5500, ['a2', 'x']));
  assert.deepEqual(bob('alice'), { user: 'bob', upTo: 'x', mine: 'a2' });
});

test("my other device's receipt reads a message that came here late only if that device had it (its `had`)", () => {
  const item = (id: string, from: string, sentAt: number): TimelineItem => ({ kind: 'message', id, from, text: id, sentAt, mine: false, mentionsMe: false });
  // carol's c1 and c2 and bob's b1 came here live; bob's b0 (dated before c1) came late, after them.
  const items = [item('b0', 'bob', 1000), item('c1', 'carol', 2000), item('b1', 'bob', 3000), item('c2', 'carol', 4000)];
  const fresh = () => {
    const marks = new ReadMarks(() => {});
    const sentAt = { b0: 1000, c1: 2000, b1: 3000, c2: 4000 };
    for (const id of ['c1', 'b1', 'c2', 'b0'] as const) marks.unreadOne('r', false, { id, sentAt: sentAt[id] });
    return marks;
  };
  const unreadAfter = (had?: string[]) => {
    const marks = fresh();
    marks.readElsewhere('r', items, 'c1', had);
    return (marks.get('r')?.arrived ?? []).map((a) => a.id);
  };
  assert.deepEqual(unreadAfter(['c1']), ['b1', 'c2', 'b0'], 'the laptop read up to c1 without b0 (none of bob\'s up to there): b0 stays unread here');
  assert.deepEqual(unreadAfter(['c1', 'b0']), ['b1', 'c2'], 'it had b0: read');
  assert.deepEqual(unreadAfter(), ['b1', 'c2'], 'a receipt without `had` (an older client) reads by position');
});

test("a receiver opens each receipt once and looks up only what changed: others' messages change nothing, mine arriving late counts", async (t) => {
  const { db, history, actions } = await storeFixture(t, 'p2p-read-had-kept-');
  const receive = (m: StoredMessage) => {
    assert.ok(history.add(m));
    actions.applied(m, named);
  };
  // Every statement History.reads runs goes through db.get or db.all.
  let queries = 0;
  const get = db.get.bind(db);
  const all = db.all.bind(db);
  db.get = (...a: Parameters<typeof get>) => (queries++, get(...a));
  db.all = (...a: Parameters<typeof all>) => (queries++, all(...a));
  const readsOf = (me: string) => {
    queries = 0;
    return history.reads(ROOM, { users: ['bob', 'dave'], limit: 2, me });
  };
  history.add(msg('a1', 'alice', 1000));
  history.add(msg('x', 'carol', 2000));
  receive(receipt('r1', 'bob', 'x', 3000, ['x', 'a1']));
  receive(receipt('r2', 'dave', 'x', 3100, ['a9', 'x']));
  assert.deepEqual(readsOf('alice'), [{ user: 'bob', upTo: 'x', mine: 'a1' }, { user: 'dave', upTo: 'x', mine: null }]);

  assert.deepEqual(readsOf('alice'), [{ user: 'bob', upTo: 'x', mine: 'a1' }, { user: 'dave', upTo: 'x', mine: null }]);
  assert.equal(queries, 1, 'nothing changed: the positions alone are read, no receipt opened again');
  history.add(msg('c2', 'carol', 2500));
  readsOf('alice');
  assert.equal(queries, 1, "another's message changes no `mine`");

  // alice's a9, which dave's receipt named, arrives late (from her other device): it counts now.
  history.add(msg('a9', 'alice', 1500));
  assert.deepEqual(readsOf('alice'), [{ user: 'bob', upTo: 'x', mine: 'a1' }, { user: 'dave', upTo: 'x', mine: 'a9' }]);
  // Asked as carol: her own messages count.
  assert.deepEqual(readsOf('carol'), [{ user: 'bob', upTo: 'x', mine: 'x' }, { user: 'dave', upTo: 'x', mine: 'x' }]);

  // A new receipt of bob's: only it is opened and looked up.
  receive(receipt('r3', 'bob', 'c2', 3200, ['a9']));
  assert.deepEqual(readsOf('carol'), [{ user: 'bob', upTo: 'c2', mine: null }, { user: 'dave', upTo: 'x', mine: 'x' }]);
  assert.equal(queries, 3, 'the positions, the new receipt, one look-up of what it names');
});

test('what I had of a sender silent for more than HAD_WINDOW messages is kept from my furthest receipt: "seen by" stays on their message', async (t) => {
  const { db, history, actions } = await storeFixture(t, 'p2p-read-had-carried-');
  const receive = (m: StoredMessage) => {
    assert.ok(history.add(m));
    actions.applied(m, named);
  };
  // carol's store: alice's a1, bob's b0; carol reads b0 (she had a1), then bob posts HAD_WINDOW + 1 more.
  history.add(msg('a1', 'alice', 1000));
  history.add(msg('b0', 'bob', 2000));
  history.add(msg('c0', 'carol', 2500));
  receive(receipt('r1', 'carol', 'b0', 3000, history.heldUpTo(ROOM, 'b0', 'carol')));
  db.write(() => {
    for (let i = 0; i <= HAD_WINDOW; i++) history.add(msg(`b${i + 1}`, 'bob', 4000 + i));
  });
  await db.committed();
  const last = `b${HAD_WINDOW + 1}`;
  const had = history.heldUpTo(ROOM, last, 'carol');
  assert.deepEqual(had, [last, 'a1'], "bob's newest, and alice's a1 from carol's receipt before (not carol's own)");
  receive(receipt('r2', 'carol', last, 9000, had));
  assert.deepEqual(history.reads(ROOM, { users: ['carol'], limit: 1, me: 'alice' }), [{ user: 'carol', upTo: last, mine: 'a1' }], 'alice still sees carol read a1');
  // A position before what the receipt named: nothing after it is carried.
  assert.deepEqual(history.heldUpTo(ROOM, 'b0', 'carol'), ['b0', 'a1']);
  assert.deepEqual(history.heldUpTo(ROOM, 'a1', 'carol'), ['a1']);
});
