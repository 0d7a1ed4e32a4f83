// Sealing an established link's frames: AES-256-GCM with one key per direction (from the
// handshake, peer/link-handshake.ts) and the frame's counter as the nonce, unique per key since
// each direction has its own; the direction is also in the additional data. Plaintexts are padded
// to the size buckets of protocol/padding.ts, as envelopes are: a frame's length says little of
// which message it carries (an ack, a typing notice, a summary, an envelope whose header differs).

import { LABELS, aesGcmDecrypt, aesGcmEncrypt, fromBase64Url, toBase64Url } from '../protocol/crypto.ts';
import { PEER_FRAME_LIMIT } from '../protocol/frame.ts';
import { pad, unpad } from '../protocol/padding.ts';
import type { SealedFrame } from '../protocol/peer.ts';

/** The frame is `{"t":"sealed","n":<up to 16 digits>,"c":"<base64url>"}`: 64 bytes cover the rest. */
const SEALED_FRAME_OVERHEAD = 64;
/** Largest PeerMessage JSON that fits one sealed frame under PEER_FRAME_LIMIT (base64 grows it by 4/3). */
export const MAX_MESSAGE_BYTES = Math.floor(((PEER_FRAME_LIMIT - SEALED_FRAME_OVERHEAD) * 3) / 4) - 16;

/** Which way a frame goes: initiator to responder, or back. */
export type Direction = 'i2r' | 'r2i';

/** Per-direction keys and counters of an established link. */
export interface LinkSession {
  remoteUser: string;
  /** The other side's device, as signed in the transcript; undefined for a peer older than devices. */
  remoteDevice: string | undefined;
  initiator: boolean;
  sendKey: Buffer;
  recvKey: Buffer;
  sendCounter: number;
  recvCounter: number;
}

/** 4 zero bytes ‖ 8-byte big-endian counter: unique per key, since each direction has its own key. */
function counterNonce(n: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(n), 4);
  return iv;
}

const aadOf = (direction: Direction): Buffer => Buffer.from(`${LABELS.linkKeys}/${direction}`, 'utf8');

/**
 * Seals `plaintext` (JSON, up to MAX_MESSAGE_BYTES) as frame `n` of `direction` under `key` (32
 * bytes), padded with spaces to its bucket (at most MAX_MESSAGE_BYTES, so what fitted still fits).
 */
export function sealPayload(key: Buffer, direction: Direction, n: number, plaintext: Uint8Array): SealedFrame {
  return { t: 'sealed', n, c: toBase64Url(aesGcmEncrypt(key, counterNonce(n), pad(plaintext, MAX_MESSAGE_BYTES), aadOf(direction))) };
}

/**
 * The plaintext of `frame`, its padding taken off (a peer from before padding sent none). Throws
 * ProtocolError('crypto.decrypt_failed') for a tampered, misdirected or wrongly numbered frame.
 */
export function openPayload(key: Buffer, direction: Direction, frame: SealedFrame): Buffer {
  return unpad(aesGcmDecrypt(key, counterNonce(frame.n), fromBase64Url(frame.c), aadOf(direction)));
}
