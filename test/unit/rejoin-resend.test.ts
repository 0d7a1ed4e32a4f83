// My deletes and edits sent again to a member who rejoins (peer/rejoin-resend.ts) over a real
// store.db: only for messages of sessions whose key they were given, at most
// MAX_RESENT_PER_REJOIN per rejoin (newest changes first), once per join per device (also after a
// restart), and again after a restart that came before it was done. And members who had them
// already are told nothing new (peer/message-actions.ts apply).

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { MessageAction } from '../../protocol/message-actions.ts';
import type { RoomEvent } from '../../protocol/room-log.ts';
import type { Conversation } from '../../peer/conversations.ts';
import { MAX_RESENT_PER_REJOIN, RejoinResend } from '../../peer/rejoin-resend.ts';
import { SentSessions } from '../../peer/sent-sessions.ts';
import { ROOM, named, storeFixture, storedMessage, type StoreFixture } from '../helpers/store-fixture.ts';

type Sent = { text: string; action: MessageAction; notBefore?: number };

/** Room ROOM's log as this device holds it: alice (me) made it, bob and carol joined, carol left. */
function roomLog() {
  const events: RoomEvent[] = [];
  const members = new Map<string, number>();
  const room = { id: ROOM, events, state: { members, head: { seq: -1, hash: '' } } };
  const add = (type: RoomEvent['type'], actor: string) => {
    const seq = events.length;
    events.push({ type, actor, seq } as RoomEvent);
    if (type === 'leave') members.delete(actor);
    else members.set(actor, seq);
    room.state.head = { seq, hash: `h${seq}` };
  };
  add('create', 'alice'); // 0
  add('join', 'bob'); // 1
  add('join', 'carol'); // 2
  add('leave', 'carol'); // 3: sessions made from here on were not wrapped for her
  return { room, add };
}

/** A RejoinResend of alice over `store` and `room`; what it sends is listed, its passes awaited by `idle`. */
function resender(store: StoreFixture, room: ReturnType<typeof roomLog>['room'], opts: { failAt?: number; now?: () => number; keep?: boolean } = {}) {
  const sent: Sent[] = [];
  const work: Promise<void>[] = [];
  const errors: unknown[] = [];
  const conversation = () => ({ id: ROOM, name: 'general', direct: false, members: [...room.state.members.keys()], head: room.state.head, forked: false }) as Conversation;
  const r = new RejoinResend({
    me: 'alice', db: store.db, commit: () => store.db.flush(),
    rooms: { get: (id) => (id === ROOM ? room : undefined) as never, all: () => [room] as never, hashAt: (_id, seq) => (seq <= room.state.head.seq ? `h${seq}` : undefined) },
    conversations: { find: (id) => (id === ROOM ? conversation() : undefined) },
    history: store.history, actions: store.actions, sessions: new SentSessions(store.db),
    held: { bundle: () => undefined },
    send: async (_c, text, extra) => {
      if (opts.failAt !== undefined && sent.length === opts.failAt) throw new Error('the disk went away');
      sent.push({ text, ...extra });
      // As the engine does: my message is kept, dated now (or after `notBefore`).
      if (opts.keep) {
        const row = { ...storedMessage(`resent-${sent.length}`, 'alice', { text, action: extra!.action! }), session: 'current', sentAt: Math.max((opts.now ?? (() => 20_000))(), extra?.notBefore ?? 0) };
        store.history.add(row);
        store.actions.applied(row, named);
      }
    },
    report: (err) => errors.push(err),
    track: (w) => void work.push(w),
    // After every change aliceStore makes (10,001 on), before those a test adds later.
    now: opts.now ?? (() => 20_000),
  });
  return { r, sent, errors, idle: async () => { while (work.length) await work.shift(); } };
}

/**
 * Alice's store: `n` messages deleted in session `in` (made at head 2, carol in), each deleted in
 * turn, then one edited twice (`e-target`, newest change), and 5 deleted in session `out` (made at
 * head 3, carol out: she never had them), changed last of all.
 */
async function aliceStore(t: TestContext, n: number): Promise<StoreFixture> {
  const store = await storeFixture(t, 'p2p-rejoin-');
  const sessions = new SentSessions(store.db);
  sessions.record(ROOM, 'in', { seq: 2, hash: 'h2' });
  sessions.record(ROOM, 'out', { seq: 3, hash: 'h3' });
  let at = 10_000;
  const add = (id: string, session: string, over: Parameters<typeof storedMessage>[2] = {}) => {
    const m = { ...storedMessage(id, 'alice', { text: `text of ${id}`, ...over }), session, sentAt: ++at };
    store.history.add(m);
    if (m.action) store.actions.applied(m, named);
    return m;
  };
  for (let i = 0; i < n; i++) add(`m${i}`, 'in');
  add('e-target', 'in');
  for (let i = 0; i < n; i++) add(`d${i}`, 'out', { text: '', action: { t: 'delete', of: `m${i}` } });
  add('e1', 'out', { text: 'meet at 11', action: { t: 'edit', of: 'e-target' } });
  add('e2', 'out', { text: 'meet at 11 (moved)', action: { t: 'edit', of: 'e-target' } });
  for (let i = 0; i < 5; i++) add(`o${i}`, 'out');
  for (let i = 0; i < 5; i++) add(`od${i}`, 'out', { text: '', action: { t: 'delete', of: `o${i}` } });
  store.db.flush();
  return store;
}

test('a rejoin sends again at most MAX_RESENT_PER_REJOIN changes, newest first, of messages the member was given, once per join', async (t) => {
  const store = await aliceStore(t, MAX_RESENT_PER_REJOIN + 50);
  const { room, add } = roomLog();
  const first = resender(store, room);
  first.r.start();
  await first.idle();
  assert.equal(first.sent.length, 0, 'nothing for the log as it was at the first start');
  add('join', 'carol'); // 4: carol is back
  first.r.check(ROOM);
  await first.idle();
  assert.deepEqual(first.errors, []);
  assert.equal(first.sent.length, MAX_RESENT_PER_REJOIN, 'bounded');
  // The newest change first: the edit, with its latest text, dated after it.
  assert.deepEqual(first.sent[0], { text: 'meet at 11 (moved)', action: { t: 'edit', of: 'e-target' }, notBefore: store.history.get(ROOM, 'e2')!.sentAt + 1 });
  const deleted = first.sent.slice(1).map((s) => (s.action.t === 'delete' ? s.action.of : ''));
  const newest = Array.from({ length: MAX_RESENT_PER_REJOIN + 50 }, (_, i) => `m${i}`).reverse().slice(0, MAX_RESENT_PER_REJOIN - 1);
  assert.deepEqual(deleted, newest, 'the newest deletes, none of session `out` (carol never had its messages)');
  // Another event of the room, and a restart: the join was handled.
  first.r.check(ROOM);
  await first.idle();
  first.r.close();
  const again = resender(store, room);
  again.r.start();
  await again.idle();
  assert.equal(first.sent.length + again.sent.length, MAX_RESENT_PER_REJOIN, 'once per join, also after a restart');
  // A later rejoin is handled again: only what changed since the last re-send to her goes.
  add('leave', 'carol'); // 5
  add('join', 'carol'); // 6
  again.r.check(ROOM);
  await again.idle();
  assert.equal(again.sent.length, 0, 'leaving and joining again costs nothing new');
  const late = { ...storedMessage('late', 'alice', { text: 'late' }), session: 'in', sentAt: 25_000 };
  store.history.add(late);
  const gone = { ...storedMessage('late-gone', 'alice', { text: '', action: { t: 'delete', of: 'late' } }), session: 'out', sentAt: 25_001 };
  store.history.add(gone);
  store.actions.applied(gone, named);
  add('leave', 'carol'); // 7
  add('join', 'carol'); // 8
  again.r.check(ROOM);
  await again.idle();
  assert.deepEqual(again.sent.map((s) => (s.action.t === 'delete' ? s.action.of : '')), ['late'], 'only the change made since');
});

test('a rejoin left half done (a restart, a failed send) is done after the restart', async (t) => {
  const store = await aliceStore(t, 3);
  const { room, add } = roomLog();
  const first = resender(store, room, { failAt: 2 });
  first.r.start();
  await first.idle();
  add('join', 'carol');
  first.r.check(ROOM);
  await first.idle();
  assert.equal(first.sent.length, 2);
  assert.match(String(first.errors[0]), /disk went away/);
  first.r.close();
  const again = resender(store, room);
  again.r.start();
  await again.idle();
  assert.deepEqual(again.sent.map((s) => (s.action.t === 'read' ? '' : s.action.of)), ['e-target', 'm2', 'm1', 'm0']);
  const third = resender(store, room);
  third.r.start();
  await third.idle();
  assert.equal(third.sent.length, 0);
});

test('a delete or edit sent again tells nothing new to a member who had it', async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-resent-');
  const m = storedMessage('m', 'alice', { text: 'salary review' });
  const n = storedMessage('n', 'alice', { text: 'meet at 10' });
  history.add(m);
  history.add(n);
  const row = (id: string, action: MessageAction, text = '') => {
    const r = storedMessage(id, 'alice', { text, action });
    history.add(r);
    return actions.applied(r, named).told.map((x) => x.name);
  };
  assert.deepEqual(row('d1', { t: 'delete', of: 'm' }), ['deleted']);
  assert.deepEqual(row('d2', { t: 'delete', of: 'm' }), [], 'a second delete');
  assert.deepEqual(row('e1', { t: 'edit', of: 'n' }, 'meet at 11'), ['edited']);
  assert.deepEqual(row('e2', { t: 'edit', of: 'n' }, 'meet at 11'), [], 'the same text again');
  assert.deepEqual(row('e3', { t: 'edit', of: 'n' }, 'meet at 12'), ['edited'], 'a new text is told');
  assert.equal(actions.stateOf(history.get(ROOM, 'n')!).edited, 'meet at 12');
  // An older edit arriving after a newer one changes nothing shown.
  const late = { ...storedMessage('e0', 'alice', { text: 'meet at 9', action: { t: 'edit', of: 'n' } }), sentAt: 1 };
  history.add(late);
  assert.deepEqual(actions.applied(late, named).told, []);
  assert.equal(actions.stateOf(history.get(ROOM, 'n')!).edited, 'meet at 12');
});

test('an edit is not sent again while someone in the room now joined after its message (its new text would reach them); deletes still are', async (t) => {
  const store = await aliceStore(t, 3);
  const { room, add } = roomLog();
  const r = resender(store, room);
  r.r.start();
  await r.idle();
  add('join', 'nina'); // 4: after session `in` began (head 2): she never had its messages
  add('join', 'carol'); // 5: carol is back
  r.r.check(ROOM);
  await r.idle();
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.sent.map((s) => s.action.t), ['delete', 'delete', 'delete'], 'the deletes only');
  assert.ok(r.sent.every((s) => s.text === ''), 'no text is sent');
});

test("a delete sent again to one rejoining member is no change for the next one (a leave/join loop re-sent everything each time)", async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-resent-since-');
  const add = (id: string, sentAt: number, over: Parameters<typeof storedMessage>[2] = {}) => {
    const m = { ...storedMessage(id, 'alice', { text: `text of ${id}`, ...over }), sentAt };
    history.add(m);
    if (m.action) actions.applied(m, named);
  };
  add('m', 100);
  add('d', 200, { text: '', action: { t: 'delete', of: 'm' } });
  add('n', 300);
  add('e', 400, { text: 'edited', action: { t: 'edit', of: 'n' } });
  // bob's last re-send ended at 500; then carol rejoined and got a copy of the delete (dated 900)
  // and of the edit (dated just after it).
  add('d-again', 900, { text: '', action: { t: 'delete', of: 'm' } });
  add('e-again', 401, { text: 'edited', action: { t: 'edit', of: 'n' } });
  assert.deepEqual(history.targetsActedOnBy(ROOM, 'alice', ['delete', 'edit'], 10, 500), [], 'nothing changed for bob since 500');
  assert.deepEqual(history.targetsActedOnBy(ROOM, 'alice', ['delete', 'edit'], 10, 150), ['n', 'm'], 'newest change first: the edit (401), the first delete (200)');
  // A real edit after 500 is a change.
  add('e2', 950, { text: 'edited again', action: { t: 'edit', of: 'n' } });
  assert.deepEqual(history.targetsActedOnBy(ROOM, 'alice', ['delete', 'edit'], 10, 500), ['n']);
});

test('what was sent again to one rejoining member is no change for another: a leave/join loop of two members costs nothing new', async (t) => {
  const store = await aliceStore(t, 3);
  const { room, add } = roomLog();
  let clock = 20_000;
  const { r, sent, errors, idle } = resender(store, room, { now: () => ++clock, keep: true });
  r.start();
  await idle();
  add('join', 'carol'); // 4: carol back: the edit and the deletes of session `in` go to her
  r.check(ROOM);
  await idle();
  const toCarol = sent.length;
  assert.equal(toCarol, 4);
  add('leave', 'bob'); // 5
  add('join', 'bob'); // 6: bob's first rejoin: the same for him, and session `out` (he was there)
  r.check(ROOM);
  await idle();
  const firsts = sent.length;
  assert.equal(firsts, toCarol + toCarol + 5);
  for (let i = 0; i < 3; i++) {
    for (const who of ['carol', 'bob']) {
      add('leave', who);
      add('join', who);
      r.check(ROOM);
      await idle();
    }
  }
  assert.deepEqual(errors, []);
  assert.equal(sent.length, firsts, 'nothing more: each had all of it');
});
