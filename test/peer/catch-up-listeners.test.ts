// A link asked for catch-up carries one 'close' listener from CatchUp however many conversations
// it is asked for, and none once it answered them all: a listener per ask piled up on a long-lived
// link (one per shared room, one more each time a member answered and was asked again), which a
// member grows by sharing rooms. Real links over loopback, a real held store.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateRsaKeyPair, randomBytes } from '../../protocol/crypto.ts';
import { type ConversationId, type PeerMessage } from '../../protocol/peer.ts';
import { CatchUp } from '../../peer/catch-up.ts';
import type { Conversations } from '../../peer/conversations.ts';
import { HeldEnvelopes } from '../../peer/held-envelopes.ts';
import { LinkServer, connectLink, type PeerLink } from '../../peer/link.ts';
import { StoreDb } from '../../peer/store-db.ts';

const ROOMS = 30;

test('catch-up keeps one close listener per asked link, and none once every room is answered', { timeout: 30_000 }, async (t) => {
  const [alice, bob] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
  const dir = await mkdtemp(join(tmpdir(), 'p2p-catchup-listeners-'));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  // Closed before its folder goes (after hooks run in the order added).
  t.after(() => (db.close(), rm(dir, { recursive: true, force: true })));
  const held = new HeldEnvelopes(db);

  const server = await LinkServer.listen({ host: '127.0.0.1', port: 0, me: { user: 'bob', signingKey: bob.privateKey }, pinnedKey: async () => alice.publicKey });
  t.after(() => server.close());
  const inbound = once(server, 'link') as Promise<[PeerLink]>;
  const link = await connectLink({ host: '127.0.0.1', port: server.port, me: { user: 'alice', signingKey: alice.privateKey }, remoteUser: 'bob', pinnedKey: async () => bob.publicKey });
  t.after(() => link.close());
  const [back] = await inbound;
  t.after(() => back.close());

  // Rooms alice shares with bob (a member who made many rooms with her).
  const rooms = Array.from({ length: ROOMS }, (_, i) => Buffer.alloc(32, i + 1).toString('base64url') as ConversationId);
  const conversations = {
    sharedWith: () => rooms,
    find: (id: ConversationId) => (rooms.includes(id) ? { id, members: ['alice', 'bob'] } : undefined),
  } as unknown as Conversations;
  const unused = () => {
    throw new Error('not used here');
  };
  const catchUp = new CatchUp({
    me: 'alice', held, conversations, commit: () => db.flush(), now: Date.now,
    peerHolds: unused, online: unused, signedByPinned: unused, deletedTarget: unused, linked: unused, dial: unused, withLink: unused, waiting: unused, retry: unused,
    report: (err) => assert.fail(String(err)), track: unused,
  });
  t.after(() => catchUp.close());

  const base = link.listenerCount('close');
  const summaries: PeerMessage[] = [];
  back.on('message', (m) => summaries.push(m));
  catchUp.offer('bob', link);
  assert.equal(link.listenerCount('close'), base + 1, `asked for ${ROOMS} rooms at once, the link carries one listener, not one per room`);

  // Bob answers every room, then asks again, over and over: nothing piles up.
  for (let round = 0; round < 3; round++) {
    for (const room of rooms) catchUp.onCaughtUp(link, { t: 'caught_up', room });
    assert.equal(link.listenerCount('close'), base, `round ${round}: every room answered, no listener is left`);
    catchUp.offer('bob', link);
    assert.equal(link.listenerCount('close'), base + 1, `round ${round}: asked again, still one`);
  }
  while (summaries.length < ROOMS * 4) await once(back, 'message');
  assert.ok(summaries.every((m) => m.t === 'summary'), 'every ask really went out as a summary');

  // Closing the link ends the pulls it was asked for, and its listener goes with them.
  const closed = once(link, 'close');
  link.close();
  await closed;
  assert.equal(link.listenerCount('close'), 0);
});
