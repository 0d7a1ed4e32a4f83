// What a sender-key bundle's signature, each wrap's OAEP label, and each envelope's signature and
// AES-GCM data cover: canonical bytes of every field that binds them to a room, a log head, a
// sender, a session and a position, so none can be replayed elsewhere. Also the signature checks
// done before anything else (peer/room-sync.ts, peer/signed-session.ts).

import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../protocol/canonical.ts';
import { LABELS, fromBase64Url, verifyPss, type Label } from '../protocol/crypto.ts';
import type { Envelope, SessionBundle } from '../protocol/peer.ts';
import type { RoomHead } from '../protocol/room-log.ts';

// UTF8(label) ‖ 0x00 ‖ data, as protocol/crypto does for signatures: labels contain no NUL.
function labelled(label: Label, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(label, 'utf8'), Buffer.of(0), data]);
}

/** Strict base64url, so one signature has one spelling; anything else verifies as nothing. */
export function signatureBytes(sig: string): Buffer {
  try {
    return fromBase64Url(sig);
  } catch {
    return Buffer.alloc(0);
  }
}

/** Whether two log heads are the same (seq and hash). */
export function sameHead(a: RoomHead, b: RoomHead): boolean {
  return a.seq === b.seq && a.hash === b.hash;
}

/** A head with only its own fields (what is signed and stored). */
export function headOf(h: RoomHead): RoomHead {
  return { seq: h.seq, hash: h.hash };
}

/** The OAEP label of one wrap: it names the recipient, so a wrap opens only where it was addressed. */
export function wrapLabel(b: { room: string; head: RoomHead; session: string; sender: string; start: number }, recipient: string): Buffer {
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

/** The AES-GCM additional data of an envelope: its header, under the message label. */
export function messageAad(e: { room: string; head: RoomHead; sender: string; session: string; seq: number }): Buffer {
  return canonicalBytes({
    label: LABELS.message, room: e.room, head: headOf(e.head), sender: e.sender, session: e.session, seq: e.seq,
  });
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
