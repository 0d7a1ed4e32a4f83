// A room is a hash-chained log of events signed by the members themselves (DESIGN.md "Rooms: a
// signed membership log"). The tracker stores and orders the log but cannot forge an entry; the
// same `applyRoomEvent` runs on the tracker (a first gate) and on every client (the real check).

import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from './canonical.ts';
import { LABELS, hkdfSha256, hmacSha256, scryptDerive, sha256, signPss, toBase64Url, fromBase64Url, verifyPss, constantTimeEqual } from './crypto.ts';
import { ProtocolError } from './errors.ts';
import { ROOM_NAME_PATTERN, NAME_PATTERN } from './names.ts';
import { arr, b64url, bool, int, literal, obj, oneOf, optional, str, type Infer } from './schema.ts';

export const ROOM_EVENT_TYPES = ['create', 'join', 'leave', 'kick', 'close'] as const;
export type RoomEventType = (typeof ROOM_EVENT_TYPES)[number];

const userName = str({ pattern: NAME_PATTERN, max: 32 });
const hash = b64url({ bytes: 32 });

/**
 * The most sender-key sessions a leave or kick names in `sent` (the newest): 6,400 messages when
 * full (a session carries at most 100), far more than members away usually lack. It bounds an
 * event to about 4.5 KiB (peer/room-sync.ts sends logs in chunks sized for it). Catch-up serves
 * a sender's sessions oldest first, so a receiver keeping only 8 sessions of one sender still
 * takes them all (was 8: a member who sent 1,000 messages while another was away lost 200).
 */
export const MAX_SENT_SESSIONS = 64;

export const roomEventSchema = obj({
  v: literal(1),
  /** The room id (hash of its create event); '' in the create event itself. */
  room: str({ max: 43, pattern: /^([A-Za-z0-9_-]{43})?$/ }),
  seq: int({ min: 0 }),
  /** Hash of the previous event; '' in the create event. */
  prev: str({ max: 43, pattern: /^([A-Za-z0-9_-]{43})?$/ }),
  type: oneOf(...ROOM_EVENT_TYPES),
  actor: userName,
  subject: optional(userName),
  time: int({ min: 0 }),
  /** Only in `create`. */
  name: optional(str({ pattern: ROOM_NAME_PATTERN, max: 32 })),
  private: optional(bool()),
  salt: optional(b64url({ bytes: 16 })),
  /** Only in a private room's `join`: HMAC under the password-derived proof key. */
  proof: optional(hash),
  /**
   * Only in `leave` and `kick`: what the departing member had sent in the room, as the actor holds
   * it: each sender-key session's last seq. Members take and forward the departing member's
   * envelopes up to these (so members who were away still get them), and nothing later or in any
   * other session: a departed member can still sign at a head from before, and must not go on
   * talking in the room. Absent in logs written before it: then only a departed member's deletes.
   */
  sent: optional(arr(obj({ session: b64url({ bytes: 16 }), seq: int({ min: 0 }) }), { max: MAX_SENT_SESSIONS })),
  sig: b64url({ bytes: 256 }),
});
export type RoomEvent = Infer<typeof roomEventSchema>;
export type UnsignedRoomEvent = Omit<RoomEvent, 'sig'>;

export interface RoomHead {
  seq: number;
  hash: string;
}

export interface RoomState {
  id: string;
  name: string;
  private: boolean;
  salt: string;
  /** Computed from the log: the creator, then the longest-standing member when the owner leaves. */
  owner: string | null;
  /** member -> seq of the join (or create) that made them a member; insertion order = seniority. */
  members: Map<string, number>;
  closed: boolean;
  head: RoomHead;
}

export function signingBytes(event: UnsignedRoomEvent): Buffer {
  const { sig: _sig, ...unsigned } = event as RoomEvent;
  return canonicalBytes(unsigned);
}

/** Hash of a whole signed event: the next event's `prev`, and for `create` the room id. */
export function eventHash(event: RoomEvent): string {
  return toBase64Url(sha256(canonicalBytes(event)));
}

export function signRoomEvent(event: UnsignedRoomEvent, signingKey: KeyObject): RoomEvent {
  return { ...event, sig: toBase64Url(signPss(signingKey, LABELS.roomEvent, signingBytes(event))) };
}

// ---- private rooms: the password never leaves the client ------------------------------------

export interface RoomPasswordKeys {
  /** Keys the HMAC proof in `join` events; every member who knows the password can check it. */
  proofKey: Buffer;
  /** Sent to the tracker for its own first-gate check; it stores only bcrypt of it. */
  check: string;
}

export async function deriveRoomPasswordKeys(password: string, salt: string, scryptParams?: Parameters<typeof scryptDerive>[3]): Promise<RoomPasswordKeys> {
  const secret = await scryptDerive(password, fromBase64Url(salt), 32, scryptParams);
  return {
    proofKey: hkdfSha256(secret, Buffer.alloc(0), LABELS.roomJoinProof, 32),
    check: toBase64Url(hkdfSha256(secret, Buffer.alloc(0), LABELS.roomCheck, 32)),
  };
}

/** The proof covers the whole join event (room, seq, prev, actor, time) except proof and sig. */
export function joinProof(event: UnsignedRoomEvent, proofKey: Uint8Array): string {
  const { proof: _p, sig: _s, ...rest } = event as RoomEvent;
  return toBase64Url(hmacSha256(proofKey, Buffer.concat([Buffer.from(LABELS.roomJoinProof), Buffer.from([0]), canonicalBytes(rest)])));
}

export function checkJoinProof(event: RoomEvent, proofKey: Uint8Array): boolean {
  return event.proof !== undefined && constantTimeEqual(fromBase64Url(event.proof), fromBase64Url(joinProof(event, proofKey)));
}

// ---- applying events -------------------------------------------------------------------------

export interface ApplyContext {
  /** The actor's pinned signing key, or undefined when the actor is unknown. */
  signingKey(user: string): KeyObject | undefined;
  /**
   * Checks a private room's join proof. The tracker cannot (it never knows the password) and
   * passes nothing, checking its own bcrypt value instead; a client always passes one, and a
   * client that cannot check a proof refuses the event.
   */
  checkProof?: (event: RoomEvent) => boolean;
  /**
   * Only for the tracker reloading its own log, whose every event it checked when appending (an
   * author's keys may since have been deleted by an admin). Clients never set it.
   */
  signaturesChecked?: boolean;
}

const invalid = (message: string): never => {
  throw new ProtocolError('room.invalid_event', message);
};

/**
 * Checks `event` against `state` (null before the create) and returns the next state; throws a
 * ProtocolError with a room.* code and leaves `state` untouched when the event is not allowed.
 */
export function applyRoomEvent(state: RoomState | null, event: RoomEvent, ctx: ApplyContext): RoomState {
  if (!ctx.signaturesChecked) {
    const key = ctx.signingKey(event.actor);
    if (!key) throw new ProtocolError('user.not_found', `unknown user ${event.actor}`);
    if (!verifyPss(key, LABELS.roomEvent, signingBytes(event), fromBase64Url(event.sig))) {
      throw new ProtocolError('room.bad_signature', `the ${event.type} event is not signed by ${event.actor}`);
    }
  }

  if (event.type === 'create') {
    if (state) invalid('a room has exactly one create event');
    if (event.seq !== 0 || event.prev !== '' || event.room !== '') invalid('a create event starts the log');
    if (!event.name || event.private === undefined || !event.salt) invalid('a create event names the room');
    if (event.subject || event.proof || event.sent) invalid('a create event has no subject, proof or sent');
    const id = eventHash(event);
    return {
      id,
      name: event.name!,
      private: event.private!,
      salt: event.salt!,
      owner: event.actor,
      members: new Map([[event.actor, 0]]),
      closed: false,
      head: { seq: 0, hash: id },
    };
  }

  if (!state) return invalid('the log must start with a create event');
  if (event.room !== state.id) invalid('the event belongs to another room');
  if (event.seq !== state.head.seq + 1 || event.prev !== state.head.hash) {
    throw new ProtocolError('room.stale_head', `the event does not follow the room's head (seq ${state.head.seq})`);
  }
  if (state.closed) throw new ProtocolError('room.closed', `room ${state.name} is closed`);
  if (event.name !== undefined || event.private !== undefined || event.salt !== undefined) {
    invalid('only a create event names the room');
  }
  if (event.type !== 'join' && event.proof !== undefined) invalid('only a join carries a proof');
  if (event.type !== 'kick' && event.subject !== undefined) invalid('only a kick has a subject');
  if (event.sent !== undefined) {
    if (event.type !== 'leave' && event.type !== 'kick') invalid('only a leave or a kick names what was sent');
    if (new Set(event.sent.map((s) => s.session)).size !== event.sent.length) invalid('a leave or kick names each session once');
  }

  const members = new Map(state.members);
  let owner = state.owner;
  let closed = false;
  switch (event.type) {
    case 'join':
      if (members.has(event.actor)) throw new ProtocolError('room.already_member', `${event.actor} is already in ${state.name}`);
      if (state.private && ctx.checkProof && !ctx.checkProof(event)) {
        throw new ProtocolError('room.bad_password', `the join of ${event.actor} has no valid password proof`);
      }
      members.set(event.actor, event.seq);
      if (owner === null) owner = event.actor;
      break;
    case 'leave':
      if (!members.delete(event.actor)) throw new ProtocolError('room.not_member', `${event.actor} is not in ${state.name}`);
      // Ownership passes to the longest-standing member (Map keeps join order).
      if (owner === event.actor) owner = members.keys().next().value ?? null;
      break;
    case 'kick':
      if (owner !== event.actor) throw new ProtocolError('room.not_owner', `only the owner of ${state.name} can kick`);
      if (!event.subject || event.subject === event.actor) invalid('a kick names another member');
      if (!members.delete(event.subject!)) throw new ProtocolError('room.not_member', `${event.subject} is not in ${state.name}`);
      break;
    case 'close':
      if (owner !== event.actor) throw new ProtocolError('room.not_owner', `only the owner of ${state.name} can close it`);
      closed = true;
      break;
  }
  return { ...state, owner, members, closed, head: { seq: event.seq, hash: eventHash(event) } };
}

/** Verifies a whole log from its create event. */
export function replayRoomLog(events: RoomEvent[], ctx: ApplyContext): RoomState {
  let state: RoomState | null = null;
  for (const event of events) state = applyRoomEvent(state, event, ctx);
  if (!state) throw new ProtocolError('room.invalid_event', 'an empty room log');
  return state;
}

export const roomHeadSchema = obj({ seq: int({ min: 0 }), hash });
