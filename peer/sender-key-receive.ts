// Receiving with sender keys: opening the wrap of a session bundle addressed to me, and checking
// and decrypting each envelope of an inbound session. Membership (is the sender a member at
// `head`?) and replay by (sender, session, seq) are the engine's checks (peer/inbound-sessions.ts);
// this file only says whether the cryptography holds.

import type { KeyObject } from 'node:crypto';
import { LABELS, GCM_IV_BYTES, aesGcmDecrypt, oaepDecrypt, verifyPss } from '../protocol/crypto.ts';
import { unpad } from '../protocol/padding.ts';
import { messageId } from '../protocol/message-id.ts';
import { SESSION_MAX_MESSAGES, messageBodySchema, type Envelope, type MessageBody, type SessionBundle } from '../protocol/peer.ts';
import {
  CHAIN_KEY_BYTES, MAX_SKIPPED, deriveMessageKey, deriveNextChainKey, senderKeyError, type InboundSession,
} from './sender-key-chain.ts';
import { bundleSignedBytes, envelopeSignedBytes, headOf, messageAad, sameHead, signatureBytes, wrapLabel } from './sender-key-bytes.ts';

/**
 * Opens the wrap addressed to `me.user` in a bundle signed by `senderSigningKey` (the key pinned
 * for `bundle.sender`). Order: find my wrap (cheap), verify the signature, then RSA-OAEP.
 * Does not check that the sender is a member at `bundle.head`: the engine does, against the log.
 */
export function openBundle(
  bundle: SessionBundle,
  me: { user: string; encryptionKey: KeyObject },
  senderSigningKey: KeyObject,
): InboundSession {
  const wrap = bundle.wraps.find((w) => w.to === me.user);
  if (!wrap) throw senderKeyError('session.not_for_me', `session bundle has no key for ${me.user}`);
  if (!verifyPss(senderSigningKey, LABELS.sessionBundle, bundleSignedBytes(bundle), signatureBytes(bundle.sig))) {
    throw senderKeyError('session.bad_signature', `session bundle is not signed by ${bundle.sender}`);
  }
  let chainKey: Buffer;
  try {
    chainKey = oaepDecrypt(me.encryptionKey, wrapLabel(bundle, me.user), Buffer.from(wrap.key, 'base64url'));
  } catch {
    throw senderKeyError('session.decrypt_failed', 'the session key wrapped for me does not open');
  }
  if (chainKey.length !== CHAIN_KEY_BYTES) {
    chainKey.fill(0);
    throw senderKeyError('session.decrypt_failed', `the session key is ${chainKey.length} bytes, not ${CHAIN_KEY_BYTES}`);
  }
  return {
    room: bundle.room,
    session: bundle.session,
    sender: bundle.sender,
    head: headOf(bundle.head),
    created: bundle.created,
    start: bundle.start,
    chainKey,
    index: bundle.start,
    skipped: new Map(),
  };
}

/**
 * Checks and opens one envelope of session `s`, whose owner's pinned signing key is
 * `senderSigningKey`. Cheap checks first (session match, sequence bounds), then the signature,
 * then the key derivation and AES-GCM. The message key is deleted once it has opened its
 * message, so a second decrypt of the same seq fails with 'message.key_used'. `s` changes only
 * when the ciphertext opened.
 */
export function decryptEnvelope(env: Envelope, s: InboundSession, senderSigningKey: KeyObject): MessageBody {
  if (env.room !== s.room || env.sender !== s.sender || env.session !== s.session || !sameHead(env.head, s.head)) {
    throw senderKeyError('message.wrong_session', 'envelope does not belong to this session (room, head, sender or session differ)');
  }
  const seq = env.seq;
  if (!Number.isSafeInteger(seq) || seq < s.start) {
    throw senderKeyError('message.before_start', `message ${seq} precedes this session's start ${s.start}`);
  }
  if (seq < s.index && !s.skipped.has(seq)) {
    throw senderKeyError('message.key_used', `the key of message ${seq} was used or dropped`);
  }
  if (seq - s.index > MAX_SKIPPED || seq >= SESSION_MAX_MESSAGES) {
    // A sender starts a new session after SESSION_MAX_MESSAGES: a higher seq only makes the
    // receiver derive and keep keys for nothing.
    throw senderKeyError('message.too_far_ahead', `message ${seq} is beyond the ${SESSION_MAX_MESSAGES} messages a session may carry, or more than ${MAX_SKIPPED} ahead of ${s.index}`);
  }
  if (!verifyPss(senderSigningKey, LABELS.message, envelopeSignedBytes(env), signatureBytes(env.sig))) {
    throw senderKeyError('message.bad_signature', `envelope is not signed by ${env.sender}`);
  }

  // Derive without touching `s`; commit only after the ciphertext opened.
  let messageKey: Buffer;
  const jumped: Buffer[] = [];
  let nextChainKey: Buffer | undefined;
  if (seq < s.index) {
    messageKey = s.skipped.get(seq)!;
  } else {
    let ck = s.chainKey;
    for (let i = s.index; i < seq; i++) {
      jumped.push(deriveMessageKey(ck));
      const next = deriveNextChainKey(ck);
      if (ck !== s.chainKey) ck.fill(0);
      ck = next;
    }
    messageKey = deriveMessageKey(ck);
    nextChainKey = deriveNextChainKey(ck);
    if (ck !== s.chainKey) ck.fill(0);
  }
  const discard = (): void => {
    for (const k of jumped) k.fill(0);
    nextChainKey?.fill(0);
    if (nextChainKey) messageKey.fill(0);
  };

  const iv = Buffer.from(env.iv, 'base64url');
  const ct = Buffer.from(env.ct, 'base64url');
  let plaintext: Buffer;
  try {
    if (iv.length !== GCM_IV_BYTES) throw new Error('iv length');
    plaintext = aesGcmDecrypt(messageKey, iv, ct, messageAad(env));
  } catch {
    discard();
    throw senderKeyError('message.decrypt_failed', `message ${seq} does not decrypt`);
  }

  // The key has opened its one message: delete it, and keep the keys jumped over.
  if (nextChainKey) {
    jumped.forEach((k, i) => s.skipped.set(s.index + i, k));
    s.chainKey.fill(0);
    s.chainKey = nextChainKey;
    s.index = seq + 1;
    // Insertion order is ascending seq (new indexes are always above old ones): drop the oldest.
    for (const [old, key] of s.skipped) {
      if (s.skipped.size <= MAX_SKIPPED) break;
      key.fill(0);
      s.skipped.delete(old);
    }
  } else {
    s.skipped.delete(seq);
  }
  messageKey.fill(0);

  let body: MessageBody;
  try {
    // The padding is stripped (protocol/padding.ts); a body sealed before padding has none.
    body = messageBodySchema.parse(JSON.parse(unpad(plaintext).toString('utf8')));
  } catch {
    // Authentic (signed, and it decrypted) but not a message body: the sender's client is broken.
    throw senderKeyError('message.decrypt_failed', `message ${seq} decrypted to an invalid body`);
  }
  // Ids are derived, never chosen: a body naming itself by another id (another member's message's,
  // to take its place where the original has not arrived yet) is refused.
  if (body.id !== messageId(env)) throw senderKeyError('message.bad_id', `message ${seq} from ${env.sender} carries an id that is not its own`);
  return body;
}
