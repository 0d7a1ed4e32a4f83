// A sender-key session and its chain (DESIGN.md "End-to-end encryption"; Signal's sender keys and
// Megolm): per room and member, a random id, a 32-byte chain key and the index of its next
// message. Message key i and chain key i+1 both come from chain key i by HMAC, and the old chain
// key is overwritten, so stored state cannot open earlier messages.

import type { KeyObject } from 'node:crypto';
import { LABELS, hmacSha256 } from '../protocol/crypto.ts';
import { ProtocolError, type SenderKeyErrorCode } from '../protocol/errors.ts';
import { SESSION_MAX_MESSAGES } from '../protocol/peer.ts';
import type { RoomHead } from '../protocol/room-log.ts';

/**
 * Message keys a receiver keeps per session for indexes it jumped over (out-of-order delivery):
 * an honest session never holds more messages than this (the sender rotates), so no envelope may
 * carry a seq at or beyond it. Caps per sender and per room: protocol/peer.ts, peer/inbound-sessions.ts.
 */
export const MAX_SKIPPED = SESSION_MAX_MESSAGES;
/** A session id: 16 random bytes (base64url on the wire). */
export const SESSION_ID_BYTES = 16;
/** A chain key, and each message key derived from it (HMAC-SHA-256 output). */
export const CHAIN_KEY_BYTES = 32;

// HMAC inputs of the ratchet: a one-byte role, then the label (so neither output can be the other).
const MESSAGE_KEY_INPUT = Buffer.concat([Buffer.of(0x01), Buffer.from(LABELS.messageKey, 'utf8')]);
const CHAIN_KEY_INPUT = Buffer.concat([Buffer.of(0x02), Buffer.from(LABELS.chainKey, 'utf8')]);

export type { SenderKeyErrorCode };

/** Bad *data* (forged, altered, misaddressed, replayed) throws ProtocolError with one of these codes; bad *arguments* throw TypeError. */
export function senderKeyError(code: SenderKeyErrorCode, message: string): ProtocolError {
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

/** Message key i = HMAC(chainKey_i, 0x01 ‖ LABELS.messageKey). */
export function deriveMessageKey(chainKey: Buffer): Buffer {
  return hmacSha256(chainKey, MESSAGE_KEY_INPUT);
}

/** chainKey_{i+1} = HMAC(chainKey_i, 0x02 ‖ LABELS.chainKey). */
export function deriveNextChainKey(chainKey: Buffer): Buffer {
  return hmacSha256(chainKey, CHAIN_KEY_INPUT);
}
