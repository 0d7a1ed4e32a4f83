import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Conversations } from '../../peer/conversations.ts';
import type { RoomBook, RoomView } from '../../peer/room-book.ts';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import type { RoomState } from '../../protocol/room-log.ts';

const ID = 'R'.repeat(43);
const head = (seq: number) => ({ seq, hash: String(seq).padEnd(43, 'h') });
const state = (members: string[], seq: number, extra: Partial<RoomState> = {}) =>
  ({ id: ID, name: 'team', private: false, owner: members[0], closed: false, head: head(seq), members: new Map(members.map((m) => [m, {}])), ...extra }) as unknown as RoomState;

/** The few RoomBook reads Conversations makes, over one room. */
function book(view: Partial<RoomView> & { state: RoomState }, earlier = new Map<number, RoomState>()): RoomBook {
  const room = Object.assign(view, { id: ID, events: [], hashes: [], earlier: new Map() }) as RoomView;
  return {
    get: (id: string) => (id === ID ? room : undefined),
    byName: (name: string) => (name === room.state.name && !room.state.closed ? room : undefined),
    all: () => [room],
    stateAt: (_id: string, h: { seq: number; hash: string }) => (h.hash === head(h.seq).hash ? earlier.get(h.seq) ?? (h.seq === room.state.head.seq ? room.state : undefined) : undefined),
  } as unknown as RoomBook;
}

test('conversations: a room by id or name, a direct conversation by id; one value per room state', () => {
  const view = { state: state(['alice', 'bob'], 3) };
  const c = new Conversations(book(view), () => 'alice');
  const byId = c.resolve(ID);
  assert.deepEqual(byId, { id: ID, name: 'team', direct: false, members: ['alice', 'bob'], head: head(3), forked: false });
  assert.equal(c.resolve('Team'), byId, 'by name: the same cached value');
  assert.equal(c.find(ID), byId);
  const dm = c.resolve(dmRoom('bob', 'alice'));
  assert.deepEqual(dm, { id: 'dm:alice:bob', name: 'dm:alice:bob', direct: true, members: ['alice', 'bob'], head: { ...DM_HEAD }, forked: false });
  assert.throws(() => c.resolve('dm:bob:carol'), { code: 'room.not_found' }, "someone else's direct conversation");
  assert.throws(() => c.resolve('other'), { code: 'room.not_found' });
  assert.throws(() => c.resolve('no such name!'), { code: 'room.not_found' });
  assert.equal(c.find('dm:bob:carol'), undefined);

  view.state = state(['alice', 'bob', 'carol'], 4);
  const after = c.find(ID)!;
  assert.notEqual(after, byId, 'a new state makes a new value');
  assert.deepEqual(after.members, ['alice', 'bob', 'carol']);
  assert.deepEqual(c.sharedWith('carol'), [ID]);
  (view as { forked?: unknown }).forked = { seq: 4, mine: '', theirs: '', from: 'bob' };
  assert.equal(c.find(ID)!.forked, true, 'a fork shows at once');
});

test('conversations: members at an earlier head, current membership required, rooms I am not in refused', () => {
  const earlier = new Map([[2, state(['alice', 'bob', 'mallory'], 2)]]);
  const view = { state: state(['alice', 'bob'], 3) };
  const c = new Conversations(book(view, earlier), () => 'alice');
  const room = c.find(ID)!;
  assert.deepEqual(c.membersAt(room, head(2)), ['alice', 'bob', 'mallory']);
  assert.equal(c.membersAt(room, head(3)), room.members);
  assert.equal(c.membersAt(room, { seq: 2, hash: 'X'.repeat(43) }), undefined, 'a head we do not hold');
  assert.throws(() => c.requireCurrentMember(room, 'mallory'), { code: 'room.not_member' });
  c.requireCurrentMember(room, 'bob');
  const dm = c.find('dm:alice:bob')!;
  assert.deepEqual(c.membersAt(dm, DM_HEAD), ['alice', 'bob']);
  assert.equal(c.membersAt(dm, head(1)), undefined);

  const outsider = new Conversations(book({ state: state(['bob'], 1) }), () => 'alice');
  assert.throws(() => outsider.resolve(ID), { code: 'room.not_found' }, 'a room I hold the log of but am not in');
});
