// peer/link-sealing.ts pads each link frame's plaintext to protocol/padding.ts's buckets: on the
// LAN, an acknowledgement, a typing notice and a read receipt's envelope are not told apart by
// the frame's length (before, each frame was as long as its JSON). Frames still open to the
// message sent, and a frame from a peer that does not pad opens as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aesGcmEncrypt, randomBytes, toBase64Url, LABELS } from '../../protocol/crypto.ts';
import { MAX_MESSAGE_BYTES, openPayload, sealPayload } from '../../peer/link-sealing.ts';

const key = randomBytes(32);
const room = toBase64Url(randomBytes(32));
const json = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');

test('an ack and a typing notice seal to one length, and open to what was sent', () => {
  const ack = json({ t: 'ack', room, sender: 'alice', session: toBase64Url(randomBytes(16)), seqs: [3, 4, 5] });
  const typing = json({ t: 'typing', room, active: true });
  const sealed = [ack, typing].map((p, n) => sealPayload(key, 'i2r', n, p));
  assert.equal(sealed[0]!.c.length, sealed[1]!.c.length, 'one sealed length');
  assert.ok(openPayload(key, 'i2r', sealed[0]!).equals(ack));
  assert.ok(openPayload(key, 'i2r', sealed[1]!).equals(typing));
});

test('the largest message still fits, and an unpadded frame (an older peer) opens', () => {
  const big = Buffer.alloc(MAX_MESSAGE_BYTES - 10, 'a'.charCodeAt(0));
  big[0] = '"'.charCodeAt(0);
  big[big.length - 1] = '"'.charCodeAt(0);
  const frame = sealPayload(key, 'r2i', 7, big);
  assert.equal(Buffer.from(frame.c, 'base64url').length, MAX_MESSAGE_BYTES + 16, 'padded to the cap, not past it');
  assert.ok(openPayload(key, 'r2i', frame).equals(big));
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(1n, 4);
  const plain = json({ t: 'ping' });
  const old = { t: 'sealed' as const, n: 1, c: toBase64Url(aesGcmEncrypt(key, nonce, plain, Buffer.from(`${LABELS.linkKeys}/i2r`, 'utf8'))) };
  assert.ok(openPayload(key, 'i2r', old).equals(plain));
});
