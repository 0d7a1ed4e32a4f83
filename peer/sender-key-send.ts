// Sending with sender keys: a member's outbound session per room, rotated when the room's log
// changes or the session is old; its chain key announced to the other members wrapped with
// RSA-OAEP, all wraps under one RSA-PSS signature (a rotation in a room of 50 costs one
// signature, not 49); each message encrypted once (AES-256-GCM) and signed by its sender.

import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../protocol/canonical.ts';
import { LABELS, GCM_IV_BYTES, GCM_TAG_BYTES, aesGcmEncrypt, oaepEncrypt, randomBytes, signPss, toBase64Url } from '../protocol/crypto.ts';
import { messageId } from '../protocol/message-id.ts';
import { pad } from '../protocol/padding.ts';
import {
  MAX_TEXT_BYTES, SESSION_MAX_AGE_MS, SESSION_MAX_MESSAGES, messageBodySchema,
  type Envelope, type MessageBody, type SessionBundle,
} from '../protocol/peer.ts';
import type { RoomHead } from '../protocol/room-log.ts';
import {
  CHAIN_KEY_BYTES, SESSION_ID_BYTES, deriveMessageKey, deriveNextChainKey, senderKeyError, type OutboundSession, type Recipient,
} from './sender-key-chain.ts';
import { bundleSignedBytes, envelopeSignedBytes, headOf, messageAad, sameHead, wrapLabel } from './sender-key-bytes.ts';

/** Most wraps one bundle may carry (sessionBundleSchema's `wraps` cap). */
export const MAX_BUNDLE_RECIPIENTS = 1000;
/** Largest envelope ciphertext (envelopeSchema's `ct` cap), tag included. */
export const MAX_CT_BYTES = MAX_TEXT_BYTES * 6 + 4096;

/** A new session for `room` at log head `head`: random id and chain key, index 0, created `now` (ms). */
export function newOutboundSession(room: string, head: RoomHead, now: number): OutboundSession {
  return {
    room,
    session: toBase64Url(randomBytes(SESSION_ID_BYTES)),
    chainKey: randomBytes(CHAIN_KEY_BYTES),
    next: 0,
    created: now,
    head: headOf(head),
  };
}

/**
 * DESIGN.md: a new session whenever the room's log changed since this one started (a kicked or
 * departed member cannot read what comes next, a newcomer cannot read what came before), and
 * after SESSION_MAX_MESSAGES messages or SESSION_MAX_AGE_MS (Megolm's defaults).
 */
export function needsRotation(s: OutboundSession, head: RoomHead, now: number): boolean {
  return !sameHead(s.head, head) || s.next >= SESSION_MAX_MESSAGES || now - s.created >= SESSION_MAX_AGE_MS;
}

/**
 * Announces `s` from index `s.next` on: its current chain key wrapped for each recipient, one
 * signature over the whole bundle. Recipients are the other members of the verified log at
 * `s.head`; choosing them is the caller's job.
 */
export function makeBundle(s: OutboundSession, sender: string, signingKey: KeyObject, recipients: Recipient[]): SessionBundle {
  if (recipients.length > MAX_BUNDLE_RECIPIENTS) {
    throw new TypeError(`recipients must be at most ${MAX_BUNDLE_RECIPIENTS}, got ${recipients.length}`);
  }
  const names = new Set(recipients.map((r) => r.user));
  if (names.size !== recipients.length) throw new TypeError('recipients must not repeat a user');
  const header = { room: s.room, head: headOf(s.head), session: s.session, sender, start: s.next, created: s.created };
  const wraps = recipients.map((r) => ({
    to: r.user,
    key: toBase64Url(oaepEncrypt(r.encryptionKey, wrapLabel(header, r.user), s.chainKey)),
  }));
  const unsigned = { ...header, wraps };
  return { ...unsigned, sig: toBase64Url(signPss(signingKey, LABELS.sessionBundle, bundleSignedBytes(unsigned))) };
}

/**
 * Encrypts `body` as message `s.next`, its id set to the one derived from the envelope
 * (protocol/message-id.ts messageId: take it from the envelope returned), and moves the chain on
 * (the key that encrypted it, and the chain key it came from, are overwritten). Throws
 * ProtocolError('request.invalid') for a body that does not match messageBodySchema,
 * ProtocolError('message.too_large') for one whose ciphertext would not fit an envelope.
 */
export function encryptMessage(s: OutboundSession, sender: string, signingKey: KeyObject, body: Omit<MessageBody, 'id'>): Envelope {
  return sealBody(s, sender, signingKey, { ...body, id: messageId({ room: s.room, sender, session: s.session, seq: s.next }) });
}

/**
 * Encrypts `body` exactly as given (its id too) as message `s.next`: encryptMessage's step, for
 * tests that play a modified client (receivers refuse an id that is not the derived one).
 */
export function sealBody(s: OutboundSession, sender: string, signingKey: KeyObject, body: MessageBody): Envelope {
  const encoded = canonicalBytes(messageBodySchema.parse(body));
  if (encoded.length + GCM_TAG_BYTES > MAX_CT_BYTES) {
    // messageBodySchema counts UTF-16 units, the envelope counts bytes: 64 Ki CJK characters pass
    // the first and not the second. Refuse here rather than send what every receiver drops.
    throw senderKeyError('message.too_large', `message body is ${encoded.length} bytes, at most ${MAX_CT_BYTES - GCM_TAG_BYTES} fit`);
  }
  // Padded to its size bucket (protocol/padding.ts), capped so that whatever fitted still fits:
  // the ciphertext's length no longer tells a reaction, a receipt, a delete or a short message apart.
  const plaintext = pad(encoded, MAX_CT_BYTES - GCM_TAG_BYTES);
  const header = { room: s.room, head: headOf(s.head), sender, session: s.session, seq: s.next };
  const messageKey = deriveMessageKey(s.chainKey);
  const nextChainKey = deriveNextChainKey(s.chainKey);
  const iv = randomBytes(GCM_IV_BYTES);
  const ct = aesGcmEncrypt(messageKey, iv, plaintext, messageAad(header));
  messageKey.fill(0);
  const unsigned = { ...header, iv: toBase64Url(iv), ct: toBase64Url(ct) };
  const sig = toBase64Url(signPss(signingKey, LABELS.message, envelopeSignedBytes(unsigned)));
  // Only now, with the envelope complete, does the chain move: a failed call changes nothing.
  s.chainKey.fill(0);
  s.chainKey = nextChainKey;
  s.next += 1;
  return { ...unsigned, sig };
}
