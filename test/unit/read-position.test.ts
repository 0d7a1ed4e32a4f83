// A member's read position (issue 12 attacker finding 3) over a real store.db in a temp folder:
// the furthest message their receipts name, in the timeline's order, not their newest receipt
// (a receipt's time is its device's clock: one dated ahead froze "seen by" for up to a day); a
// receipt naming a message not here yet counts once it arrives, and its arrival says so. And the
// extension's own position (read on another device of mine) moves forward in the timeline's
// order, also between messages sent in the same millisecond.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TimelineItem } from '../../protocol/view.ts';
import { ReadMarks } from '../../extension/read-state.ts';
import type { StoredMessage } from '../../peer/history.ts';
import { ROOM, named, storeFixture, storedMessage } from '../helpers/store-fixture.ts';

const msg = (id: string, from: string, sentAt: number, over: Partial<StoredMessage> = {}) => storedMessage(id, from, { sentAt, text: over.action ? '' : id, ...over });
function receipt(id: string, from: string, upTo: string, sentAt: number): StoredMessage {
  return msg(id, from, sentAt, { action: { t: 'read', upTo } });
}

test("a member's read position is the furthest message their receipts name, whatever the receipts' own times", async (t) => {
  const { history } = await storeFixture(t, 'p2p-reads-');
  history.add(msg('m1', 'alice', 1000));
  history.add(msg('m2', 'alice', 2000));
  history.add(msg('m3', 'alice', 3000));
  // Two messages in the same millisecond: the timeline orders them by sender.
  history.add(msg('m4a', 'alice', 4000));
  history.add(msg('m4b', 'carol', 4000));
  // bob's first receipt came from a device whose clock was a day ahead; his later ones are honest.
  history.add(receipt('r1', 'bob', 'm1', 1000 + 23 * 3600_000));
  history.add(receipt('r2', 'bob', 'm3', 3500));
  history.add(receipt('r3', 'bob', 'm2', 3600));
  history.add(receipt('r4', 'dave', 'm4b', 5000));
  history.add(receipt('r5', 'dave', 'm4a', 6000));
  assert.deepEqual(history.reads(ROOM, { users: ['bob', 'dave'], limit: 2 }), [{ user: 'bob', upTo: 'm3' }, { user: 'dave', upTo: 'm4b' }]);
});

test('a receipt naming a message not here yet counts once the message arrives, and its arrival tells the read', async (t) => {
  const { history, actions } = await storeFixture(t, 'p2p-reads-');
  history.add(msg('m1', 'alice', 1000));
  history.add(receipt('r1', 'bob', 'm1', 1500));
  history.add(receipt('r2', 'bob', 'm2', 2500));
  assert.deepEqual(history.reads(ROOM, { limit: 10 }), [{ user: 'bob', upTo: 'm1' }], 'm2 is not here: bob has read up to m1 as far as this device can show');
  const m2 = msg('m2', 'alice', 2000);
  history.add(m2);
  const { told } = actions.arrived(m2, named);
  assert.deepEqual(told, [{ name: 'read', e: { room: 'general', roomId: ROOM, user: 'bob', upTo: 'm2' } }]);
  assert.deepEqual(history.reads(ROOM, { limit: 10 }), [{ user: 'bob', upTo: 'm2' }]);
});

test('my read position from another device moves forward in the timeline order, also within one millisecond', () => {
  const item = (id: string, sentAt: number): TimelineItem => ({ kind: 'message', id, from: 'bob', text: id, sentAt, mine: false, mentionsMe: false });
  const items = [item('a', 1000), item('b', 1000), item('c', 1000)];
  const marks = new ReadMarks(() => {});
  marks.unreadOne('r', false);
  marks.unreadOne('r', false);
  marks.unreadOne('r', false);
  assert.equal(marks.readElsewhere('r', items, 'a'), true);
  assert.equal(marks.get('r')?.lastRead?.id, 'a');
  assert.equal(marks.readElsewhere('r', items, 'b'), true);
  assert.deepEqual(marks.get('r'), { unread: 1, mentions: 0, lastRead: { id: 'b', sentAt: 1000 } }, 'b comes after a, though sent in the same millisecond');
  assert.equal(marks.readElsewhere('r', items, 'a'), false, 'an older position says nothing new');
  assert.equal(marks.get('r')?.lastRead?.id, 'b');
});
