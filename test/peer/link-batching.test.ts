// How a link hands frames to the kernel (peer/link.ts send): the first frame of a turn of the
// event loop is written at once, so a paced message waits for nothing else its sender does in
// that turn; the frames after it in the same turn are held and leave together in one write.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { generateRsaKeyPair } from '../../protocol/crypto.ts';
import { dmRoom, type PeerMessage } from '../../protocol/peer.ts';
import { LinkServer, PeerLink, connectLink, type PinnedKeyLookup } from '../../peer/link.ts';

const [alice, bob] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
const ROOM = dmRoom('alice', 'bob');
const req = (from: number): PeerMessage => ({ t: 'log_request', room: ROOM, from });

test('the first frame of a turn goes to the kernel at once; the rest of the turn leave together, in order', { timeout: 30_000 }, async (t) => {
  const bobPins: PinnedKeyLookup = async (user) => (user === 'alice' ? alice.publicKey : undefined);
  const alicePins: PinnedKeyLookup = async (user) => (user === 'bob' ? bob.publicKey : undefined);
  const server = await LinkServer.listen({ host: '127.0.0.1', port: 0, me: { user: 'bob', signingKey: bob.privateKey }, pinnedKey: bobPins });
  t.after(() => server.close());
  const inbound = once(server, 'link') as Promise<[PeerLink]>;
  const a = await connectLink({ host: '127.0.0.1', port: server.port, me: { user: 'alice', signingKey: alice.privateKey }, remoteUser: 'bob', pinnedKey: alicePins });
  t.after(() => a.close());
  const [b] = await inbound;
  t.after(() => b.close());

  const got: number[] = [];
  let arrived = (): void => {};
  b.on('message', (m) => {
    if (m.t === 'log_request') got.push(m.from);
    arrived();
  });
  // Twice: the second turn starts uncorked again.
  for (let round = 0; round < 2; round++) {
    const first = got.length;
    const done = new Promise<void>((resolve) => (arrived = () => got.length === first + 3 && resolve()));
    assert.equal(a.send(req(0)), true);
    assert.equal(a.queuedBytes, 0, 'the first frame of the turn was handed to the kernel before send returned');
    assert.equal(a.send(req(1)), true);
    assert.equal(a.send(req(2)), true);
    assert.ok(a.queuedBytes > 0, 'the frames after it wait for the end of the turn');
    await done;
    assert.deepEqual(got.slice(first), [0, 1, 2]);
    assert.equal(a.queuedBytes, 0);
  }
});
