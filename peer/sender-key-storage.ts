// Sender-key sessions in the data folder: plain JSON, keys as base64url, checked field by field
// on load (a damaged or altered file throws rather than yield a session that lies about its keys).

import { fromBase64Url, toBase64Url } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { roomHeadSchema } from '../protocol/room-log.ts';
import { arr, b64url, int, literal, obj, str } from '../protocol/schema.ts';
import { CHAIN_KEY_BYTES, MAX_SKIPPED, SESSION_ID_BYTES, type InboundSession, type OutboundSession } from './sender-key-chain.ts';
import { headOf } from './sender-key-bytes.ts';

/** Skipped keys a stored session may list: earlier versions kept up to 2000 (trimmed on load). */
const STORED_SKIPPED_MAX = 2000;

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

/** Plain JSON for the data folder; keys as base64url, skipped keys by ascending seq. */
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
