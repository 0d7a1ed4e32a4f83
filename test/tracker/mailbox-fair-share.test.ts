// Two depositors cannot fill a mailbox against everyone else (tracker/mailbox.ts put, makeRoom):
// each may hold half of it, so two strangers (open registration; a DM needs no shared room) used
// to fill it and a teammate's message was refused. Now, when a put does not fit, the oldest
// envelopes of whoever holds the most go (max-min fair), their depositors are told
// (mailbox_dropped, reason "full"; the messages still wait in their outboxes), and a depositor
// holding as much as anyone is refused as before, so an evicted one cannot push back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import type { MailboxItem } from '../../protocol/tracker.ts';
import { expectCode, nextEvent } from '../helpers/events.ts';
import { openAll, sealed } from '../helpers/mailbox.ts';
import { onlineMember, type Member } from '../helpers/rooms.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const put = (from: Member, to: string, items: MailboxItem[]) => from.conn.request('mailbox_put', { to, items });
const dm = (a: Member, b: string, texts: string[]) => sealed(a.user, [b], dmRoom(a.user, b), DM_HEAD, texts);

test('two strangers holding all of carol\'s mailbox: alice\'s message evicts their oldest, they are told, and cannot push back', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox', '--mailbox-max-items-per-user', '8'] });
  const [alice, carol, s1, s2] = await Promise.all(['alice', 'carol', 'sybil1', 'sybil2'].map((n) => onlineMember(tracker, n)));
  const fills = await Promise.all([s1, s2].map((s) => dm(s, 'carol', ['junk 0', 'junk 1', 'junk 2'])));
  for (const [i, s] of [s1, s2].entries()) assert.deepEqual(await put(s, 'carol', fills[i].items), { stored: 4 });

  const told = nextEvent(s1.conn, 'mailbox_dropped');
  const mine = await dm(alice, 'carol', ['hello carol']);
  assert.deepEqual(await put(alice, 'carol', mine.items), { stored: 2 }, 'fits: the heaviest holders made room');
  assert.deepEqual(await told, {
    event: 'mailbox_dropped', to: 'carol',
    items: [{ room: dmRoom('sybil1', 'carol'), sender: 'sybil1', session: fills[0].session, seq: 0, reason: 'full' }],
  });

  const box = (await carol.conn.request('mailbox_take', {})).items;
  assert.equal(box.length, 8);
  const texts = await openAll('carol', box);
  assert.ok(texts.includes('hello carol'), 'alice\'s message is there');
  assert.deepEqual(texts.filter((x) => x.startsWith('junk')), ['junk 1', 'junk 2', 'junk 1', 'junk 2'], 'each stranger lost its oldest');

  // sybil1 deposits its evicted message again: it would hold as much as anyone, so it is refused, and nothing of alice's goes.
  const again = await expectCode(put(s1, 'carol', [fills[0].items[0], fills[0].items[1]]), 'quota.exceeded');
  assert.match(again.message, /carol's mailbox is full .*nobody holds more of it than you would/);
  assert.equal((await carol.conn.request('mailbox_take', {})).items.length, 8);
});
