// mailbox_withdraw on a real `node tracker --mailbox` (tracker/mailbox.ts withdraw): a depositor
// takes back envelopes it left for one recipient (it deleted those messages); nobody can take back
// someone else's items, nor its own from another recipient's mailbox; the bounds are refused with
// a clear error; a tracker without a mailbox answers request.unknown_type.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAILBOX_MAX_ITEMS_PER_WITHDRAW, type MailboxItem, type MailboxWithdrawItem } from '../../protocol/tracker.ts';
import { expectCode } from '../helpers/events.ts';
import { openAll, sealed } from '../helpers/mailbox.ts';
import { createRoom, headOf, join, onlineMember, uniqueName, type Member } from '../helpers/rooms.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const put = (from: Member, to: string, items: MailboxItem[]) => from.conn.request('mailbox_put', { to, items });
const withdraw = (from: Member, to: string, items: MailboxWithdrawItem[]) => from.conn.request('mailbox_withdraw', { to, items });
const textsOf = async (m: Member) => openAll(m.user, (await m.conn.request('mailbox_take', {})).items);

test('withdraw removes only the asker\'s own envelopes, and only from the mailbox it names', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => onlineMember(tracker, n)));
  const room = await createRoom(alice, uniqueName('room'));
  await join(bob, room);
  await join(carol, room);
  const head = await headOf(alice.conn, room.id);

  // Alice leaves one session for bob and for carol; carol leaves hers for bob.
  const alices = await sealed('alice', ['bob', 'carol'], room.id, head, ['a0', 'a1 (to be deleted)', 'a2']);
  const carols = await sealed('carol', ['bob'], room.id, head, ['c0', 'c1']);
  await put(alice, 'bob', alices.items);
  await put(alice, 'carol', alices.items);
  await put(carol, 'bob', carols.items);
  const a1 = { room: room.id, session: alices.session, seq: 1 };

  // Carol cannot take back alice's envelope from bob's mailbox, nor bob anything from his own.
  assert.deepEqual(await withdraw(carol, 'bob', [a1]), { removed: 0 });
  assert.deepEqual(await withdraw(bob, 'carol', [a1]), { removed: 0 });
  // Alice takes back a1 from bob's mailbox only; carol's own seq 1 (same room, same seq) stays.
  assert.deepEqual(await withdraw(alice, 'bob', [a1, { room: room.id, session: carols.session, seq: 1 }]), { removed: 1 });
  // Again: nothing left to remove (a retry after a lost answer is harmless).
  assert.deepEqual(await withdraw(alice, 'BOB', [a1]), { removed: 0 });

  assert.deepEqual(await textsOf(bob), ['a0', 'a2', 'c0', 'c1'], 'only alice\'s a1 left bob\'s mailbox');
  assert.deepEqual(await textsOf(carol), ['a0', 'a1 (to be deleted)', 'a2'], 'carol\'s mailbox was not named: untouched');
});

test('withdraw bounds: no items, too many, malformed items and names are refused with a clear error', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const [alice] = await Promise.all(['alice', 'bob'].map((n) => onlineMember(tracker, n)));
  const one = { room: 'dm:alice:bob', session: 'A'.repeat(22), seq: 0 };

  assert.match((await expectCode(withdraw(alice, 'bob', []), 'request.invalid')).message, /at least one item/);
  const tooMany = Array.from({ length: MAILBOX_MAX_ITEMS_PER_WITHDRAW + 1 }, (_, seq) => ({ ...one, seq }));
  assert.match((await expectCode(withdraw(alice, 'bob', tooMany), 'request.invalid')).message, new RegExp(`at most ${MAILBOX_MAX_ITEMS_PER_WITHDRAW}`));
  await expectCode(withdraw(alice, 'bob', [{ ...one, seq: -1 }]), 'request.invalid');
  await expectCode(withdraw(alice, 'bob', [{ ...one, session: 'not base64url!' }]), 'request.invalid');
  await expectCode(withdraw(alice, 'bob', [{ ...one, room: '' }]), 'request.invalid');
  await expectCode(withdraw(alice, 'no such name!', [one]), 'auth.invalid_name');
  // The most allowed is accepted (nothing there: nothing removed).
  const most = Array.from({ length: MAILBOX_MAX_ITEMS_PER_WITHDRAW }, (_, seq) => ({ ...one, seq }));
  assert.deepEqual(await withdraw(alice, 'bob', most), { removed: 0 });
});

test('a tracker without --mailbox answers mailbox_withdraw with request.unknown_type', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await onlineMember(tracker, 'alice');
  await onlineMember(tracker, 'bob');
  await expectCode(withdraw(alice, 'bob', [{ room: 'dm:alice:bob', session: 'A'.repeat(22), seq: 0 }]), 'request.unknown_type');
});
