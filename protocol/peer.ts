// Everything said between two peers, declared once. A link starts with three plaintext handshake
// frames (DESIGN.md "Peer links": ephemeral X25519, transcript signed with RSA-PSS); every later
// frame is `sealed` (AES-256-GCM with a counter nonce per direction) and its plaintext is one of
// the `PeerMessage`s below. Envelopes and session bundles carry everything needed to check them
// without the sender online, so any member may store and forward them.

import { messageActionSchema, messageIdSchema } from './message-actions.ts';
import { roomEventSchema, roomHeadSchema } from './room-log.ts';
import { arr, b64url, bool, int, literal, obj, optional, str, variants, type Infer } from './schema.ts';
import { NAME_PATTERN } from './names.ts';
import { MAX_TEXT_BYTES } from './text-limit.ts';

/** Message text: Markdown up to 64 KiB of UTF-8, a snippet's code included (declared in text-limit.ts). */
export { MAX_TEXT_BYTES };
/** A sender starts a new session after this many messages or this long (Megolm's defaults). */
export const SESSION_MAX_MESSAGES = 100;
export const SESSION_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/**
 * What a receiver keeps of other members' sender sessions (the rest is dropped, oldest first, and
 * its messages are refused from then on, never shown again): sessions per (room, sender) and per
 * room, and message keys kept for skipped indexes per (room, sender) and per room. An honest
 * sender holds one session per room at a time and at most SESSION_MAX_MESSAGES messages in it.
 */
export const MAX_SESSIONS_PER_SENDER = 8;
export const MAX_SESSIONS_PER_ROOM = 1024;
export const MAX_SKIPPED_KEYS_PER_SENDER = 4 * SESSION_MAX_MESSAGES;
export const MAX_SKIPPED_KEYS_PER_ROOM = 4096;

/**
 * Delivery (DESIGN.md "Delivery, history, nothing lost"). Catch-up sends pages of CATCH_UP_PAGE
 * envelopes, at most CATCH_UP_WINDOW not yet acknowledged (its inbox holds at most 5000 a peer) and
 * at most CATCH_UP_QUEUE_BYTES waiting on the link, and waits CATCH_UP_STALL_MS for progress
 * before giving up on that link. The outbox keeps my messages
 * until every member has them, up to OUTBOX_MAX_AGE_MS and OUTBOX_MAX_ENTRIES (then the sender is
 * told); held envelopes (kept to forward to members who were away) up to HELD_MAX_AGE_MS and
 * HELD_MAX_PER_ROOM. A member I could not reach is tried again after each of RETRY_BACKOFF_MS.
 */
export const CATCH_UP_PAGE = 500;
/** Envelopes a catch-up may have sent and not yet seen acknowledged (below the receiver's inbox cap of 5000). */
export const CATCH_UP_WINDOW = 4 * CATCH_UP_PAGE;
export const CATCH_UP_STALL_MS = 10_000;
/**
 * Bytes a catch-up lets wait on a link before it waits for the link to drain: half the link's
 * slow-consumer limit (DEFAULT_MAX_QUEUE_BYTES, 8 MiB), so more than one largest frame
 * (PEER_FRAME_LIMIT, 1 MiB) below it. Counting messages alone, a catch-up of large ones (150 of
 * 60 KB) overflowed the link, which then closed and sent nothing at every later try.
 */
export const CATCH_UP_QUEUE_BYTES = 4 * 1024 * 1024;
export const OUTBOX_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
export const OUTBOX_MAX_ENTRIES = 20_000;
export const HELD_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
export const HELD_MAX_PER_ROOM = 20_000;
export const RETRY_BACKOFF_MS = [2_000, 5_000, 15_000, 30_000, 60_000] as const;

/**
 * Admission of peer links (DESIGN.md "Peer links"): what a stranger can make a peer hold or do
 * before proving who they are. Peers on one host (or behind one NAT) share an address, so the
 * per-address caps allow many concurrent real handshakes; authenticated links never count.
 */
export const LINK_LIMITS = {
  /**
   * Connections still in their handshake, from one address / in total. Over the address's cap a
   * connection is closed at once; with the total full, the oldest of the address holding the most
   * is evicted for a newcomer from a lighter one, and a newcomer from an address holding none
   * always gets a slot (the oldest handshake overall makes room when every address holds one;
   * peer/link-admission.ts): a flood needs at least pendingTotal / pendingPerAddress addresses to
   * fill the total, and cannot lock out a peer from another address, whose handshake is done long
   * before it becomes the oldest.
   */
  pendingPerAddress: 16,
  pendingTotal: 128,
  /** From accept (or connect) to an established link, in ms; then the socket is closed. */
  handshakeTimeoutMs: 5_000,
  /** Established links with one authenticated user; beyond this the oldest is closed. */
  linksPerUser: 8,
  /** Tracker lookups of names not pinned yet: a token bucket (burst, tokens per second) per address and in total. */
  lookupBurstPerAddress: 32,
  lookupPerSecondPerAddress: 2,
  lookupBurstTotal: 64,
  lookupPerSecondTotal: 8,
  /** Names the tracker did not know, remembered this long (ms), at most this many. */
  unknownNameTtlMs: 60_000,
  unknownNamesMax: 1024,
  /** Handshake signatures (only for initiators that proved who they are): waited for, not refused. */
  signBurstPerAddress: 32,
  signPerSecondPerAddress: 16,
  signBurstTotal: 64,
  signPerSecondTotal: 32,
  /** Refused handshakes reported one by one per interval (ms); the rest in one summary at its end. */
  refusalReportsPerInterval: 5,
  refusalIntervalMs: 10_000,
} as const;
export type LinkLimits = { -readonly [K in keyof typeof LINK_LIMITS]: number };

const user = str({ pattern: NAME_PATTERN, max: 32 });
/** A room id (hash of its create event) or a direct-message room `dm:<a>:<b>`, names sorted. */
const roomRef = str({ max: 80, pattern: /^([A-Za-z0-9_-]{43}|dm:[a-z0-9._-]{2,32}:[a-z0-9._-]{2,32})$/ });
const nonce = b64url({ bytes: 32 });
const sig = b64url({ bytes: 256 });
/**
 * One device of a user: a data folder (a machine, or one VS Code installation), named by a random
 * id made once there (peer/data-folder.ts deviceId). It routes messages between one user's
 * devices and proves nothing beyond the user (they share one identity).
 */
export const deviceIdSchema = b64url({ bytes: 16 });
const device = deviceIdSchema;

// ---- handshake (plaintext) -------------------------------------------------------------------

// SIGMA-R order: the initiator proves who it is first (hello_finish); the responder signs only
// then, inside the first sealed frame (`confirm`). A stranger's hello costs the responder no RSA
// signature, and the responder's signature travels sealed.
export const handshakeSchema = variants('t', {
  /**
   * `device`: the initiator's device (its data folder's id); `toDevice`: the device it dials, so a
   * port now held by another device of the same user is refused instead of mistaken for it. Both
   * are in the signed transcript when present (absent from peers older than devices).
   */
  hello: obj({ v: literal(2), from: user, to: user, eph: b64url({ bytes: 32 }), nonce, device: optional(device), toDevice: optional(device) }),
  /** `device`: the responder's device. */
  hello_reply: obj({ from: user, to: user, eph: b64url({ bytes: 32 }), nonce, device: optional(device) }),
  hello_finish: obj({ sig }),
  /** A refusal, in words, before closing (unknown user, key mismatch, busy). */
  refused: obj({ code: str({ max: 64 }), message: str({ max: 500 }) }),
});
export type Handshake = Infer<typeof handshakeSchema>;
/** Bytes of one handshake frame at most (the largest, a refusal, is under 1 KiB); later frames may use PEER_FRAME_LIMIT. */
export const HANDSHAKE_FRAME_LIMIT = 4096;

/** The plaintext of the responder's first sealed frame (key confirmation): its transcript signature. */
export const confirmSchema = obj({ t: literal('confirm'), sig });
export type Confirm = Infer<typeof confirmSchema>;

/** After the handshake every frame is this: `n` is the direction's counter, `c` the ciphertext. */
export const sealedFrameSchema = obj({ t: literal('sealed'), n: int({ min: 0 }), c: b64url({ maxBytes: 1024 * 1024 }) });
export type SealedFrame = Infer<typeof sealedFrameSchema>;

// ---- room crypto payloads --------------------------------------------------------------------

/** A sender session's key, wrapped with RSA-OAEP for one recipient. */
export const sessionWrapSchema = obj({ to: user, key: b64url({ bytes: 256 }) });

/**
 * A sender announces a session to the members of the verified log at `head`. One signature
 * covers every recipient's wrap (a rotation in a room of 50 costs one signature, not 49).
 */
export const sessionBundleSchema = obj({
  room: roomRef,
  head: roomHeadSchema,
  session: b64url({ bytes: 16 }),
  sender: user,
  /** Index of the first message the wrapped chain key opens. */
  start: int({ min: 0 }),
  created: int({ min: 0 }),
  wraps: arr(sessionWrapSchema, { max: 1000 }),
  sig,
});
export type SessionBundle = Infer<typeof sessionBundleSchema>;

export const envelopeSchema = obj({
  room: roomRef,
  head: roomHeadSchema,
  sender: user,
  session: b64url({ bytes: 16 }),
  seq: int({ min: 0 }),
  iv: b64url({ bytes: 12 }),
  /** JSON escaping can grow text up to six-fold (control characters as \u00XX). */
  ct: b64url({ maxBytes: MAX_TEXT_BYTES * 6 + 4096 }),
  sig,
});
export type Envelope = Infer<typeof envelopeSchema>;

/**
 * A code snippet shared with a message (Share Selection): the editor's language id, the file's
 * path in its workspace folder, the 1-based lines it covers, the code. `wholeLines`: true when the
 * code is those lines whole (the selection started at column 0 and ended at a line's end), so a
 * code thread compares them line for line; false or absent (senders before it existed): the
 * selection may start or end inside a line, and only the part shared is compared.
 */
export const snippetSchema = obj({
  language: str({ max: 64 }),
  path: str({ max: 1024 }),
  startLine: int({ min: 1 }),
  endLine: int({ min: 1 }),
  code: str({ max: MAX_TEXT_BYTES, maxBytes: MAX_TEXT_BYTES }),
  wholeLines: optional(bool()),
});
export type MessageSnippet = Infer<typeof snippetSchema>;

/**
 * The plaintext inside an envelope. `replyTo`: the id of the message of this conversation it
 * answers (its quote is shown). `action`: what it does to an earlier message instead of being one
 * (protocol/message-actions.ts); such a message is never shown as a message of its own.
 */
export const messageBodySchema = obj({
  id: messageIdSchema,
  replyTo: optional(messageIdSchema),
  action: optional(messageActionSchema),
  time: int({ min: 0 }),
  text: str({ max: MAX_TEXT_BYTES, maxBytes: MAX_TEXT_BYTES }),
  snippet: optional(snippetSchema),
});
export type MessageBody = Infer<typeof messageBodySchema>;

// ---- messages on an established link (inside `sealed`) ---------------------------------------

export const peerMessageSchema = variants('t', {
  /** Sent first on every link: the sender's log heads of rooms both share. */
  heads: obj({ heads: arr(obj({ room: roomRef, head: roomHeadSchema }), { max: 10_000 }) }),
  session: obj({ bundle: sessionBundleSchema }),
  envelope: obj({ envelope: envelopeSchema }),
  /** Receivers acknowledge envelopes by (sender, session, seq). */
  ack: obj({ room: roomRef, sender: user, session: b64url({ bytes: 16 }), seqs: arr(int({ min: 0 }), { max: 10_000 }) }),
  /** Ephemeral: never stored. */
  typing: obj({ room: roomRef, active: bool() }),
  /** Signed room events, served by any member (they are signed, so no trust is needed). */
  log_request: obj({ room: roomRef, from: int({ min: 0 }) }),
  log: obj({ room: roomRef, events: arr(roomEventSchema, { max: 10_000 }) }),
  ping: obj({}),
  /**
   * Catch-up (DESIGN.md "Delivery, history, nothing lost"): sent on every new link for each
   * conversation both share. Per sender session this side holds: the highest sequence it holds
   * with none missing below (-1: the session is known but none of its messages). The other side
   * answers with the bundles and envelopes it holds beyond that, for sessions wrapped for us.
   */
  summary: obj({
    room: roomRef,
    sessions: arr(obj({ sender: user, session: b64url({ bytes: 16 }), seq: int({ min: -1 }) }), { max: MAX_SESSIONS_PER_ROOM }),
  }),
  /**
   * The answer to a `summary` is complete: everything this side held beyond it was sent. The
   * asking side asks its next member only then (one at a time per conversation), so a member
   * back from a week away gets each missed message once, not once per member online.
   */
  caught_up: obj({ room: roomRef }),
});
export type PeerMessage = Infer<typeof peerMessageSchema>;

/** One word for a conversation: a room id, or `dm:<a>:<b>` (names sorted) for a direct one. */
export type ConversationId = string;

/** The conversation id of the direct conversation between `a` and `b`. */
export function dmRoom(a: string, b: string): ConversationId {
  const [x, y] = [a, b].sort();
  return `dm:${x}:${y}`;
}

/** True for a direct conversation's id (`dm:<a>:<b>`). */
export function isDmRoom(room: ConversationId): boolean {
  return room.startsWith('dm:');
}

/** A DM's membership is fixed by its name; its "head" is a constant. */
export const DM_HEAD = { seq: 0, hash: 'A'.repeat(43) } as const;
