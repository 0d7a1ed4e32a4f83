// RoomSync's parking on its own: messages made at a head not held yet wait, and go back to their
// sender's serial inbox (ahead of what that sender sent later, under its cap) when the room
// catches up, instead of being handled outside the inbox.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Conversations } from '../../peer/conversations.ts';
import type { KeyDirectory } from '../../peer/key-directory.ts';
import type { PeerLink } from '../../peer/link.ts';
import type { RoomBook, RoomView } from '../../peer/room-book.ts';
import { RoomSync, type InboxItem } from '../../peer/room-sync.ts';
import { SerialInbox } from '../../peer/serial-inbox.ts';
import { encryptMessage, newOutboundSession } from '../../peer/sender-keys.ts';
import { generateRsaKeyPair } from '../../protocol/crypto.ts';
import type { RoomEvent, RoomState } from '../../protocol/room-log.ts';

const ID = 'R'.repeat(43);
const head = (seq: number) => ({ seq, hash: String(seq).padEnd(43, 'h') });
const alice = await generateRsaKeyPair();
const link = { send: () => true } as unknown as PeerLink;

function envelopeAt(seq: number, text: string): InboxItem {
  const session = newOutboundSession(ID, head(seq), Date.now());
  const envelope = encryptMessage(session, 'alice', alice.privateKey, { time: Date.now(), text });
  return { msg: { t: 'envelope', envelope }, link };
}

/** A RoomSync over one room at `seq`, whose `apply` advances the head by the events' count. */
function setup(cap: number) {
  const state = (seq: number) => ({ id: ID, name: 'team', head: head(seq), closed: false, members: new Map([['alice', {}], ['bob', {}]]) }) as unknown as RoomState;
  const room = { id: ID, events: [], hashes: [], earlier: new Map(), state: state(1) } as unknown as RoomView;
  const rooms = {
    get: (id: string) => (id === ID ? room : undefined),
    apply: async (events: RoomEvent[]) => {
      const before = room.state;
      room.state = state(before.head.seq + events.length);
      return [{ event: events[0], before, after: room.state }];
    },
  } as unknown as RoomBook;
  const handled: string[] = [];
  const errors: unknown[] = [];
  let sync!: RoomSync;
  // The engine's wiring: an item is taken up, then parked again or handled.
  const inbox = new SerialInbox<string, InboxItem>({
    cap,
    failed: (err) => errors.push(err),
    handle: (from, item) => {
      sync.taken(from, item);
      const env = (item.msg as Extract<InboxItem['msg'], { t: 'envelope' }>).envelope;
      if (sync.park(env.room, env.head, from, item)) return;
      handled.push((item as InboxItem & { text?: string }).text ?? '?');
    },
  });
  sync = new RoomSync({
    rooms, conversations: {} as Conversations,
    keys: { signingKey: (u: string) => (u === 'alice' ? alice.publicKey : undefined) } as unknown as KeyDirectory,
    tracker: { roomLog: async () => ({ events: [] }), request: async () => ({}) } as never,
    signingKey: () => alice.privateKey,
    requeue: (from, items, skip) => inbox.pushFront(from, items, skip),
    applied: () => {}, forked: () => {}, persist: () => {},
    report: (err) => errors.push(err),
  });
  const message = (seq: number, text: string) => Object.assign(envelopeAt(seq, text), { text });
  return { sync, inbox, handled, errors, message };
}

test('parked messages wait for the room, then go through the inbox in arrival order, ahead of later ones', async () => {
  const { sync, inbox, handled, errors, message } = setup(100);
  inbox.push('alice', message(2, 'a'));
  inbox.push('alice', message(2, 'b'));
  inbox.push('alice', message(1, 'c: at our head, but behind parked ones'));
  assert.deepEqual(handled, []);
  assert.equal(sync.parkedCount(ID), 3);
  await sync.apply([{ room: ID, seq: 2 } as RoomEvent]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, ['a', 'b', 'c: at our head, but behind parked ones']);
  assert.equal(sync.parkedCount(ID), 0);
  inbox.push('alice', message(2, 'd'));
  assert.deepEqual(handled.at(-1), 'd', 'nothing waits any more: handled at once');
  assert.deepEqual(errors, []);
});

test('parked messages put back count against the sender inbox cap', async () => {
  const { sync, inbox, handled, errors, message } = setup(2);
  for (const text of ['a', 'b', 'c']) inbox.push('alice', message(2, text));
  assert.equal(sync.parkedCount(ID), 3, 'parking is bounded by bytes, the inbox by count');
  await sync.apply([{ room: ID, seq: 2 } as RoomEvent]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, [], 'three put back into an inbox of two: refused, not handled outside it');
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as { code: string }).code, 'server.busy');
  inbox.push('alice', message(2, 'next'));
  assert.deepEqual(handled, ['next'], 'the count of put-back messages was undone');
});
