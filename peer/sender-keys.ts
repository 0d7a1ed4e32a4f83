// Room encryption with sender keys (DESIGN.md "End-to-end encryption"; Signal's sender keys and
// Megolm). Each member keeps, per room, one outbound session: a random id, a 32-byte chain key
// and the index of its next message. The session's current chain key is sent to the other
// members wrapped with RSA-OAEP, all wraps under one RSA-PSS signature (a rotation in a room of
// 50 costs one signature, not 49). Message key i and chain key i+1 both come from chain key i by
// HMAC, and the old chain key is overwritten, so stored state cannot open earlier messages.
// Every message is encrypted once (AES-256-GCM) and signed by its sender, so no other member,
// who holds the same chain key, can forge it.
//
// Pure computation: no I/O, no clock (`now` is passed in). Functions that advance a chain mutate
// the session in place and overwrite replaced keys with zeros: keep no other reference to
// `chainKey` buffers, and persist the session (serializeOutbound/serializeInbound) afterwards.
// Membership (is the sender a member at `head`?) and replay by (sender, session, seq) are the
// engine's checks; this file only says whether the cryptography holds.

import type { SenderKeyErrorCode } from '../protocol/errors.ts';
import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../protocol/canonical.ts';
import { messageId } from '../protocol/message-id.ts';
import {
  LABELS, GCM_IV_BYTES, GCM_TAG_BYTES, aesGcmDecrypt, aesGcmEncrypt, fromBase64Url, hmacSha256,
  oaepDecrypt, oaepEncrypt, randomBytes, signPss, toBase64Url, verifyPss, type Label,
} from '../protocol/crypto.ts';
import {
  MAX_TEXT_BYTES, SESSION_MAX_AGE_MS, SESSION_MAX_MESSAGES, messageBodySchema,
  type Envelope, type MessageBody, type SessionBundle,
} from '../protocol/peer.ts';
import { roomHeadSchema, type RoomHead } from '../protocol/room-log.ts';
import { arr, b64url, int, literal, obj, str } from '../protocol/schema.ts';
import { ProtocolError } from '../protocol/errors.ts';

/**
 * Message keys a receiver keeps per session for indexes it jumped over (out-of-order delivery):
 * an honest session never holds more messages than this (the sender rotates), so no envelope may
 * carry a seq at or beyond it. Caps per sender and per room: protocol/peer.ts, peer/inbound-sessions.ts.
 */
export const MAX_SKIPPED = SESSION_MAX_MESSAGES;
/** Skipped keys a stored session may list: earlier versions kept up to 2000 (trimmed on load). */
const STORED_SKIPPED_MAX = 2000;
export const SESSION_ID_BYTES = 16;
export const CHAIN_KEY_BYTES = 32;
/** Most wraps one bundle may carry (sessionBundleSchema's `wraps` cap). */
export const MAX_BUNDLE_RECIPIENTS = 1000;
/** Largest envelope ciphertext (envelopeSchema's `ct` cap), tag included. */
export const MAX_CT_BYTES = MAX_TEXT_BYTES * 6 + 4096;

// HMAC inputs of the ratchet: a one-byte role, then the label (so neither output can be the other).
const MESSAGE_KEY_INPUT = Buffer.concat([Buffer.of(0x01), Buffer.from(LABELS.messageKey, 'utf8')]);
const CHAIN_KEY_INPUT = Buffer.concat([Buffer.of(0x02), Buffer.from(LABELS.chainKey, 'utf8')]);

export type { SenderKeyErrorCode };

/** Bad *data* (forged, altered, misaddressed, replayed) throws ProtocolError with one of these codes; bad *arguments* throw TypeError. */
function senderKeyError(code: SenderKeyErrorCode, message: string): ProtocolError {
  return new ProtocolError(code, message);
}

export interface OutboundSession {
  room: string;
  /** base64url of 16 random bytes. */
  session: string;
  /** Chain key for index `next`; the keys before it are gone. */
  chainKey: Buffer;
  /** Index of the next message. */
  next: number;
  created: number;
  /** The room's verified log head when the session started; every envelope carries it. */
  head: RoomHead;
}

export interface InboundSession {
  room: string;
  session: string;
  sender: string;
  head: RoomHead;
  created: number;
  /** First index this receiver was given; nothing before it can be derived. */
  start: number;
  /** Chain key for index `index`. */
  chainKey: Buffer;
  index: number;
  /** Message keys of indexes jumped over, ascending, at most MAX_SKIPPED; deleted once used. */
  skipped: Map<number, Buffer>;
}

export interface Recipient {
  user: string;
  /** Their RSA-OAEP public key (certified by their signing key; checked by the caller). */
  encryptionKey: KeyObject;
}

// ---- the ratchet -----------------------------------------------------------------------------

/** Message key i = HMAC(chainKey_i, 0x01 ‖ LABELS.messageKey). */
export function deriveMessageKey(chainKey: Buffer): Buffer {
  return hmacSha256(chainKey, MESSAGE_KEY_INPUT);
}

/** chainKey_{i+1} = HMAC(chainKey_i, 0x02 ‖ LABELS.chainKey). */
export function deriveNextChainKey(chainKey: Buffer): Buffer {
  return hmacSha256(chainKey, CHAIN_KEY_INPUT);
}

// ---- what is signed, wrapped and authenticated -----------------------------------------------

// UTF8(label) ‖ 0x00 ‖ data, as protocol/crypto does for signatures: labels contain no NUL.
function labelled(label: Label, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(label, 'utf8'), Buffer.of(0), data]);
}

/** Strict base64url, so one signature has one spelling; anything else verifies as nothing. */
function signatureBytes(sig: string): Buffer {
  try {
    return fromBase64Url(sig);
  } catch {
    return Buffer.alloc(0);
  }
}

function sameHead(a: RoomHead, b: RoomHead): boolean {
  return a.seq === b.seq && a.hash === b.hash;
}

function headOf(h: RoomHead): RoomHead {
  return { seq: h.seq, hash: h.hash };
}

/** The OAEP label of one wrap: it names the recipient, so a wrap opens only where it was addressed. */
function wrapLabel(b: { room: string; head: RoomHead; session: string; sender: string; start: number }, recipient: string): Buffer {
  return labelled(LABELS.sessionWrap, canonicalBytes({
    room: b.room, head: headOf(b.head), session: b.session, sender: b.sender, recipient, start: b.start,
  }));
}

/** What the bundle's one signature covers: everything but `sig`. */
export function bundleSignedBytes(b: Omit<SessionBundle, 'sig'>): Buffer {
  return canonicalBytes({
    room: b.room, head: headOf(b.head), session: b.session, sender: b.sender, start: b.start,
    created: b.created, wraps: b.wraps.map((w) => ({ to: w.to, key: w.key })),
  });
}

/** What an envelope's signature covers: the header and the ciphertext. */
export function envelopeSignedBytes(e: Omit<Envelope, 'sig'>): Buffer {
  return canonicalBytes({
    room: e.room, head: headOf(e.head), sender: e.sender, session: e.session, seq: e.seq, iv: e.iv, ct: e.ct,
  });
}

function messageAad(e: { room: string; head: RoomHead; sender: string; session: string; seq: number }): Buffer {
  return canonicalBytes({
    label: LABELS.message, room: e.room, head: headOf(e.head), sender: e.sender, session: e.session, seq: e.seq,
  });
}

// ---- sending ---------------------------------------------------------------------------------

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
  const plaintext = canonicalBytes(messageBodySchema.parse(body));
  if (plaintext.length + GCM_TAG_BYTES > MAX_CT_BYTES) {
    // messageBodySchema counts UTF-16 units, the envelope counts bytes: 64 Ki CJK characters pass
    // the first and not the second. Refuse here rather than send what every receiver drops.
    throw senderKeyError('message.too_large', `message body is ${plaintext.length} bytes, at most ${MAX_CT_BYTES - GCM_TAG_BYTES} fit`);
  }
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

// ---- receiving -------------------------------------------------------------------------------

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
    body = messageBodySchema.parse(JSON.parse(plaintext.toString('utf8')));
  } catch {
    // Authentic (signed, and it decrypted) but not a message body: the sender's client is broken.
    throw senderKeyError('message.decrypt_failed', `message ${seq} decrypted to an invalid body`);
  }
  // Ids are derived, never chosen: a body naming itself by another id (another member's message's,
  // to take its place where the original has not arrived yet) is refused.
  if (body.id !== messageId(env)) throw senderKeyError('message.bad_id', `message ${seq} from ${env.sender} carries an id that is not its own`);
  return body;
}

// ---- storage ---------------------------------------------------------------------------------

const sessionId = b64url({ bytes: SESSION_ID_BYTES });
const chainKeyB64 = b64url({ bytes: CHAIN_KEY_BYTES });
const index = int({ min: 0 });

const storedOutboundSchema = obj({
  v: literal(1), room: str({ max: 80 }), session: sessionId, chainKey: chainKeyB64, next: index, created: index, head: roomHeadSchema,
});
const storedInboundSchema = obj({
  v: literal(1), room: str({ max: 80 }), session: sessionId, sender: str({ max: 32 }), head: roomHeadSchema,
  created: index, start: index, chainKey: chainKeyB64, index,
  skipped: arr(obj({ seq: index, key: b64url({ bytes: 32 }) }), { max: STORED_SKIPPED_MAX }),
});

export type StoredOutbound = ReturnType<typeof storedOutboundSchema.parse>;
export type StoredInbound = ReturnType<typeof storedInboundSchema.parse>;

/** Plain JSON for the data folder; keys as base64url. */
export function serializeOutbound(s: OutboundSession): StoredOutbound {
  return { v: 1, room: s.room, session: s.session, chainKey: toBase64Url(s.chainKey), next: s.next, created: s.created, head: headOf(s.head) };
}

/** Throws ProtocolError('request.invalid') for anything serializeOutbound did not write. */
export function deserializeOutbound(o: unknown): OutboundSession {
  const p = storedOutboundSchema.parse(o);
  return { room: p.room, session: p.session, chainKey: fromBase64Url(p.chainKey), next: p.next, created: p.created, head: p.head };
}

export function serializeInbound(s: InboundSession): StoredInbound {
  return {
    v: 1, room: s.room, session: s.session, sender: s.sender, head: headOf(s.head), created: s.created,
    start: s.start, chainKey: toBase64Url(s.chainKey), index: s.index,
    skipped: [...s.skipped].sort(([a], [b]) => a - b).map(([seq, key]) => ({ seq, key: toBase64Url(key) })),
  };
}

/** Throws ProtocolError('request.invalid') for anything serializeInbound did not write. */
export function deserializeInbound(o: unknown): InboundSession {
  const p = storedInboundSchema.parse(o);
  if (p.index < p.start) throw new ProtocolError('request.invalid', 'index must not be below start');
  const skipped = new Map<number, Buffer>();
  for (const { seq, key } of [...p.skipped].sort((a, b) => a.seq - b.seq)) {
    // Only indexes jumped over can have a kept key; anything else is a corrupt or altered file.
    if (seq < p.start || seq >= p.index || skipped.has(seq)) {
      throw new ProtocolError('request.invalid', `skipped key ${seq} is outside [start, index) or repeated`);
    }
    skipped.set(seq, fromBase64Url(key));
  }
  // Keep the newest MAX_SKIPPED (a file of an earlier version may hold more).
  for (const [seq, key] of skipped) {
    if (skipped.size <= MAX_SKIPPED) break;
    key.fill(0);
    skipped.delete(seq);
  }
  return {
    room: p.room, session: p.session, sender: p.sender, head: p.head, created: p.created,
    start: p.start, chainKey: fromBase64Url(p.chainKey), index: p.index, skipped,
  };
}

/** Whether a bundle is signed by the holder of `key` (for checks before anything else is done). */
export function bundleSignatureValid(bundle: SessionBundle, key: KeyObject | undefined): boolean {
  const { sig, ...rest } = bundle;
  return Boolean(key) && verifyPss(key!, LABELS.sessionBundle, bundleSignedBytes(rest), signatureBytes(sig));
}

/** Whether an envelope is signed by the holder of `key`. */
export function envelopeSignatureValid(env: Envelope, key: KeyObject | undefined): boolean {
  const { sig, ...rest } = env;
  return Boolean(key) && verifyPss(key!, LABELS.message, envelopeSignedBytes(rest), signatureBytes(sig));
}
