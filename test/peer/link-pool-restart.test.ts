// A peer that restarts listens on a new port. The first message sent to it afterwards must open a
// link to where it is now, also when the address last heard is stale: its "offline" arrived and
// its new "online" not yet, or the old port is still listed. The pool then asks for the tracker's
// current address (`freshAddress`) instead of failing the send (which lost the message).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { KeyObject } from 'node:crypto';
import { generateRsaKeyPair, randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import type { PeerMessage } from '../../protocol/peer.ts';
import { LinkPool, type PeerAddress } from '../../peer/link-pool.ts';
import type { LinkIdentity, PeerLink, PinnedKeyLookup } from '../../peer/link.ts';

const TIMEOUT = { timeout: 30_000 };
const [alice, bob] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
const ALICE: LinkIdentity = { user: 'alice', signingKey: alice.privateKey };
const BOB: LinkIdentity = { user: 'bob', signingKey: bob.privateKey };

function pins(table: Record<string, KeyObject>): PinnedKeyLookup {
  return async (user) => (Object.hasOwn(table, user) ? table[user] : undefined);
}

/** A message that says which send it is. */
function marked(): { msg: PeerMessage; room: string } {
  const room = toBase64Url(randomBytes(32));
  return { msg: { t: 'heads', heads: [{ room, head: { seq: 0, hash: toBase64Url(randomBytes(32)) } }] }, room };
}

function received(pool: LinkPool, room: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (_from: string, msg: PeerMessage) => {
      if (msg.t === 'heads' && msg.heads.some((h) => h.room === room)) {
        pool.off('message', on);
        resolve();
      }
    };
    pool.on('message', on);
  });
}

async function alicePool(t: TestContext): Promise<{ pool: LinkPool; address: PeerAddress }> {
  const pool = new LinkPool(ALICE, pins({ bob: bob.publicKey }), () => undefined);
  const port = await pool.listen(0, '127.0.0.1');
  t.after(() => pool.close());
  return { pool, address: { host: '127.0.0.1', port } };
}

/**
 * Bob reaches alice, alice restarts on a new port, and bob's link to her is closed. `heard` is
 * what bob's presence says of alice then; the tracker already has her new address.
 */
async function restartCase(t: TestContext, heard: 'offline' | 'old address'): Promise<void> {
  const first = await alicePool(t);
  const presence = new Map<string, PeerAddress>([['alice', first.address]]);
  const tracker = new Map<string, PeerAddress>([['alice', first.address]]);
  const asked: string[] = [];
  const bobPool = new LinkPool(BOB, pins({ alice: alice.publicKey }), (u) => presence.get(u), {
    freshAddress: async (u) => {
      asked.push(u);
      return tracker.get(u);
    },
  });
  await bobPool.listen(0, '127.0.0.1');
  t.after(() => bobPool.close());

  const linked = once(bobPool, 'linked') as Promise<[string, PeerLink]>;
  const before = marked();
  const got = received(first.pool, before.room);
  assert.equal(await bobPool.sendWith('alice', (link) => link.send(before.msg)), true);
  await got;
  const [, oldLink] = await linked;
  assert.deepEqual(asked, [], 'a known, working address needs no question');

  // Alice restarts: her old engine closes, the new one listens elsewhere and signs in.
  const closed = once(oldLink, 'close');
  await first.pool.close();
  await closed;
  assert.equal(bobPool.isLinked('alice'), false);
  const second = await alicePool(t);
  assert.notEqual(second.address.port, first.address.port);
  tracker.set('alice', second.address);
  if (heard === 'offline') presence.delete('alice');

  const after = marked();
  const arrived = received(second.pool, after.room);
  assert.equal(await bobPool.sendWith('alice', (link) => link.send(after.msg)), true, 'the send after the restart went out');
  await arrived;
  assert.deepEqual(asked, ['alice']);
  assert.equal(bobPool.list().length, 1);
}

test('a send to a peer that restarted on a new port, while its new presence is still on the way, reaches it there', TIMEOUT, async (t) => {
  await restartCase(t, 'offline');
});

test('a send to a peer that restarted on a new port, while its old port is still listed, reaches it there', TIMEOUT, async (t) => {
  await restartCase(t, 'old address');
});

test('a peer offline at the tracker too: the send fails (false), nothing is dialled', TIMEOUT, async (t) => {
  const asked: string[] = [];
  const bobPool = new LinkPool(BOB, pins({ alice: alice.publicKey }), () => undefined, {
    freshAddress: async (u) => {
      asked.push(u);
      return undefined;
    },
  });
  t.after(() => bobPool.close());
  assert.equal(await bobPool.sendWith('alice', (link) => link.send(marked().msg)), false);
  assert.deepEqual(asked, ['alice']);
});
