// protocol/room-log and protocol/canonical: the signed, hash-chained membership log of a room
// (DESIGN.md "Rooms: a signed membership log"). The same applyRoomEvent is the tracker's first gate
// and every client's real check, so each rule here is one a lying tracker cannot get around.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes, canonicalJson } from '../../protocol/canonical.ts';
import { LABELS, generateRsaKeyPair, randomBytes, sha256, signPss, toBase64Url, type RsaKeyPair } from '../../protocol/crypto.ts';
import { ProtocolError, type ErrorCode } from '../../protocol/errors.ts';
import { LOG_CHUNK } from '../../peer/room-sync.ts';
import { MAX_MESSAGE_BYTES } from '../../peer/link-handshake.ts';
import {
  MAX_SENT_SESSIONS,
  applyRoomEvent,
  checkJoinProof,
  deriveRoomPasswordKeys,
  eventHash,
  joinProof,
  replayRoomLog,
  roomEventSchema,
  signRoomEvent,
  signingBytes,
  type ApplyContext,
  type RoomEvent,
  type RoomEventType,
  type RoomPasswordKeys,
  type RoomState,
  type UnsignedRoomEvent,
} from '../../protocol/room-log.ts';

// Small scrypt parameters keep this file fast; real clients always use SCRYPT_PARAMS
// (protocol/crypto.ts), which are never taken from the network.
const FAST_SCRYPT = { N: 1024, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
type User = (typeof USERS)[number];
const keys = new Map<string, RsaKeyPair>();
before(async () => {
  const pairs = await Promise.all(USERS.map(() => generateRsaKeyPair()));
  USERS.forEach((u, i) => keys.set(u, pairs[i]!));
});

/** A client's context: every user's pinned key; no proof check (public rooms). */
const ctx: ApplyContext = { signingKey: (user) => keys.get(user)?.publicKey };
const TIME = 1_700_000_000_000;

function privateKeyOf(user: string) {
  const pair = keys.get(user);
  if (!pair) throw new Error(`no test key for ${user}`);
  return pair.privateKey;
}

function createEvent(actor: User, opts: { private?: boolean; name?: string; salt?: string } = {}): RoomEvent {
  return signRoomEvent({
    v: 1, room: '', seq: 0, prev: '', type: 'create', actor, time: TIME,
    name: opts.name ?? 'general', private: opts.private ?? false, salt: opts.salt ?? toBase64Url(randomBytes(16)),
  }, privateKeyOf(actor));
}

/** The next event after `state`'s head, unsigned; `extra` may override any field. */
function next(state: RoomState, type: RoomEventType, actor: string, extra: Partial<UnsignedRoomEvent> = {}): UnsignedRoomEvent {
  return { v: 1, room: state.id, seq: state.head.seq + 1, prev: state.head.hash, type, actor, time: TIME + state.head.seq + 1, ...extra };
}

/** The next event, signed by its actor (or by `signer`). */
function ev(state: RoomState, type: RoomEventType, actor: string, extra: Partial<UnsignedRoomEvent> = {}, signer: string = actor): RoomEvent {
  return signRoomEvent(next(state, type, actor, extra), privateKeyOf(signer));
}

/** Every observable part of a state, the member order (seniority) included. */
function snapshot(state: RoomState | null): unknown {
  return state && { ...state, members: [...state.members], head: { ...state.head } };
}

const hasCode = (code: ErrorCode) => (e: unknown): boolean => {
  assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

/** Asserts that `event` is refused with `code` and that `state` is left exactly as it was. */
function refuses(state: RoomState | null, event: RoomEvent, code: ErrorCode, context: ApplyContext = ctx): void {
  const before = snapshot(state);
  assert.throws(() => applyRoomEvent(state, event, context), hasCode(code));
  assert.deepEqual(snapshot(state), before, 'the state is unchanged after a refused event');
}

/** Applies events in order, returning every state. */
function chain(state: RoomState, ...steps: Array<(s: RoomState) => RoomEvent>): { state: RoomState; events: RoomEvent[] } {
  const events: RoomEvent[] = [];
  for (const step of steps) {
    const event = step(state);
    events.push(event);
    state = applyRoomEvent(state, event, ctx);
  }
  return { state, events };
}

/** alice's public room with bob and carol joined (seq 0..2). */
function threeMemberRoom(): { state: RoomState; events: RoomEvent[] } {
  const create = createEvent('alice');
  const { state, events } = chain(applyRoomEvent(null, create, ctx), (s) => ev(s, 'join', 'bob'), (s) => ev(s, 'join', 'carol'));
  return { state, events: [create, ...events] };
}

// ---- canonical JSON ---------------------------------------------------------------------------

test('canonicalJson: key order does not matter, at every depth', () => {
  assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  assert.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
  const x = { z: { y: 1, x: [{ d: 'd', c: true }, 3] }, a: null, m: 'é"\n' };
  const y = { m: 'é"\n', a: null, z: { x: [{ c: true, d: 'd' }, 3], y: 1 } };
  assert.equal(canonicalJson(x), '{"a":null,"m":"é\\"\\n","z":{"x":[{"c":true,"d":"d"},3],"y":1}}');
  assert.equal(canonicalJson(x), canonicalJson(y));
  // Array order is data, not formatting.
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  assert.deepEqual(canonicalBytes(x), Buffer.from(canonicalJson(y), 'utf8'));
});

test('canonicalJson: undefined members are dropped, at every depth', () => {
  assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
  assert.equal(canonicalJson({ a: 1, b: undefined }), canonicalJson({ a: 1 }));
  assert.equal(canonicalJson({ n: { b: undefined, c: 2 } }), '{"n":{"c":2}}');
  // null is a value and is kept.
  assert.equal(canonicalJson({ a: null }), '{"a":null}');
});

test('canonicalJson: non-integer and unsafe numbers, and values JSON cannot hold, are refused', () => {
  for (const bad of [1.5, -0.1, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
    assert.throws(() => canonicalJson(bad), TypeError, String(bad));
    assert.throws(() => canonicalJson({ a: { b: [bad] } }), TypeError, `nested ${bad}`);
  }
  assert.equal(canonicalJson(Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER));
  assert.equal(canonicalJson(-7), '-7');
  // `[undefined]` must not sign the same bytes as `[]`, nor `[1, undefined]` give "[1,]".
  assert.throws(() => canonicalJson([undefined]), TypeError);
  assert.throws(() => canonicalJson([1, undefined]), TypeError);
  assert.throws(() => canonicalJson({ f: () => 1 }), TypeError);
  assert.throws(() => canonicalJson(10n), TypeError);
});

test('an event re-serialized with its keys in another order still verifies and hashes the same', () => {
  const create = createEvent('alice');
  const reordered = Object.fromEntries(Object.entries(create).reverse()) as RoomEvent;
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(create));
  assert.equal(eventHash(reordered), eventHash(create));
  assert.equal(applyRoomEvent(null, reordered, ctx).id, applyRoomEvent(null, create, ctx).id);
  // And through the wire: JSON text, then the schema.
  const parsed = roomEventSchema.parse(JSON.parse(JSON.stringify(reordered)));
  assert.equal(applyRoomEvent(null, parsed, ctx).id, eventHash(create));
});

// ---- create -----------------------------------------------------------------------------------

test('create: room id = eventHash(create), the creator owns it, the head is seq 0', () => {
  const create = createEvent('alice', { name: 'dev-team', private: false });
  const state = applyRoomEvent(null, create, ctx);
  assert.equal(state.id, eventHash(create));
  assert.equal(state.id, toBase64Url(sha256(canonicalBytes(create))));
  assert.equal(state.owner, 'alice');
  assert.deepEqual([...state.members], [['alice', 0]]);
  assert.deepEqual(state.head, { seq: 0, hash: state.id });
  assert.equal(state.name, 'dev-team');
  assert.equal(state.private, false);
  assert.equal(state.salt, create.salt);
  assert.equal(state.closed, false);
  // Two creates of the same name differ (the salt is random), so they are two rooms.
  assert.notEqual(applyRoomEvent(null, createEvent('alice', { name: 'dev-team' }), ctx).id, state.id);
});

test('create: a second create is refused, and a create must start the log', () => {
  const state = applyRoomEvent(null, createEvent('alice'), ctx);
  refuses(state, createEvent('alice'), 'room.invalid_event');
  refuses(state, createEvent('bob'), 'room.invalid_event');

  const base = { v: 1 as const, room: '', seq: 0, prev: '', type: 'create' as const, actor: 'bob', time: TIME,
    name: 'ops', private: false, salt: toBase64Url(randomBytes(16)) };
  const sign = (e: UnsignedRoomEvent) => signRoomEvent(e, privateKeyOf('bob'));
  assert.equal(applyRoomEvent(null, sign(base), ctx).owner, 'bob');
  refuses(null, sign({ ...base, seq: 1 }), 'room.invalid_event');
  refuses(null, sign({ ...base, prev: state.id }), 'room.invalid_event');
  refuses(null, sign({ ...base, room: state.id }), 'room.invalid_event');
  refuses(null, sign({ ...base, subject: 'alice' }), 'room.invalid_event');
  const { name: _n, ...nameless } = base;
  refuses(null, sign(nameless), 'room.invalid_event');
  // Only a create can start a log.
  refuses(null, ev(state, 'join', 'bob'), 'room.invalid_event');
});

// ---- join, leave, kick, close -----------------------------------------------------------------

test('join: a new member is added with its seq; a member joining again is refused', () => {
  const { state } = threeMemberRoom();
  assert.deepEqual([...state.members], [['alice', 0], ['bob', 1], ['carol', 2]]);
  assert.deepEqual(state.head.seq, 2);
  refuses(state, ev(state, 'join', 'alice'), 'room.already_member');
  refuses(state, ev(state, 'join', 'bob'), 'room.already_member');
  assert.ok(applyRoomEvent(state, ev(state, 'join', 'dave'), ctx).members.has('dave'));
});

test('leave: a member leaves; a non-member leaving is refused', () => {
  const { state } = threeMemberRoom();
  const after = applyRoomEvent(state, ev(state, 'leave', 'bob'), ctx);
  assert.deepEqual([...after.members.keys()], ['alice', 'carol']);
  assert.equal(after.owner, 'alice', 'a non-owner leaving does not move ownership');
  refuses(state, ev(state, 'leave', 'dave'), 'room.not_member');
  refuses(after, ev(after, 'leave', 'bob'), 'room.not_member');
});

test('kick: only the owner, never of self, only of a member', () => {
  const { state } = threeMemberRoom();
  const kicked = applyRoomEvent(state, ev(state, 'kick', 'alice', { subject: 'bob' }), ctx);
  assert.deepEqual([...kicked.members.keys()], ['alice', 'carol']);
  refuses(state, ev(state, 'kick', 'bob', { subject: 'carol' }), 'room.not_owner');
  refuses(state, ev(state, 'kick', 'bob', { subject: 'alice' }), 'room.not_owner');
  refuses(state, ev(state, 'kick', 'alice', { subject: 'alice' }), 'room.invalid_event');
  refuses(state, ev(state, 'kick', 'alice'), 'room.invalid_event'); // no subject
  refuses(state, ev(state, 'kick', 'alice', { subject: 'dave' }), 'room.not_member');
  // A kicked member cannot act as a member any more.
  refuses(kicked, ev(kicked, 'leave', 'bob'), 'room.not_member');
});

test('close: only the owner; after it every event is refused with room.closed', () => {
  const { state } = threeMemberRoom();
  refuses(state, ev(state, 'close', 'bob'), 'room.not_owner');
  const closed = applyRoomEvent(state, ev(state, 'close', 'alice'), ctx);
  assert.equal(closed.closed, true);
  assert.equal(closed.head.seq, 3);
  refuses(closed, ev(closed, 'join', 'dave'), 'room.closed');
  refuses(closed, ev(closed, 'leave', 'bob'), 'room.closed');
  refuses(closed, ev(closed, 'leave', 'alice'), 'room.closed');
  refuses(closed, ev(closed, 'kick', 'alice', { subject: 'bob' }), 'room.closed');
  refuses(closed, ev(closed, 'close', 'alice'), 'room.closed');
});

test('an event that does not follow the head (wrong prev or seq) is refused with room.stale_head', () => {
  const { state, events } = threeMemberRoom();
  // The right event is accepted, so each refusal below is the head's doing.
  assert.equal(applyRoomEvent(state, ev(state, 'join', 'dave'), ctx).head.seq, 3);
  refuses(state, ev(state, 'join', 'dave', { prev: eventHash(events[1]!) }), 'room.stale_head');
  refuses(state, ev(state, 'join', 'dave', { prev: toBase64Url(randomBytes(32)) }), 'room.stale_head');
  refuses(state, ev(state, 'join', 'dave', { seq: 4 }), 'room.stale_head');
  refuses(state, ev(state, 'join', 'dave', { seq: 2 }), 'room.stale_head');
  // A replay of an already applied event (it lost no race: it is old).
  refuses(state, events[2]!, 'room.stale_head');
  // Two events signed against the same head: the second one loses the race.
  const a = ev(state, 'join', 'dave');
  const b = ev(state, 'join', 'erin');
  const afterA = applyRoomEvent(state, a, ctx);
  refuses(afterA, b, 'room.stale_head');
  assert.ok(applyRoomEvent(afterA, ev(afterA, 'join', 'erin'), ctx).members.has('erin'), 're-signed on the new head, it is accepted');
});

test('an event for another room is refused with room.invalid_event', () => {
  const { state } = threeMemberRoom();
  const other = applyRoomEvent(null, createEvent('bob', { name: 'other' }), ctx);
  refuses(state, ev(state, 'join', 'dave', { room: other.id }), 'room.invalid_event');
  refuses(state, ev(state, 'leave', 'bob', { room: '' }), 'room.invalid_event');
});

test('fields that belong to another event type are refused with room.invalid_event', () => {
  const { state } = threeMemberRoom();
  const proof = toBase64Url(randomBytes(32));
  refuses(state, ev(state, 'join', 'dave', { subject: 'bob' }), 'room.invalid_event');
  refuses(state, ev(state, 'leave', 'bob', { subject: 'carol' }), 'room.invalid_event');
  refuses(state, ev(state, 'close', 'alice', { subject: 'carol' }), 'room.invalid_event');
  refuses(state, ev(state, 'leave', 'bob', { proof }), 'room.invalid_event');
  refuses(state, ev(state, 'kick', 'alice', { subject: 'bob', proof }), 'room.invalid_event');
  refuses(state, ev(state, 'join', 'dave', { name: 'general' }), 'room.invalid_event');
  refuses(state, ev(state, 'join', 'dave', { salt: state.salt }), 'room.invalid_event');
  refuses(state, ev(state, 'join', 'dave', { private: false }), 'room.invalid_event');
  refuses(state, ev(state, 'leave', 'bob', { name: 'renamed' }), 'room.invalid_event');
});

test('sent: only a leave or a kick names what the departing member sent, each session once, at most MAX_SENT_SESSIONS', () => {
  const { state } = threeMemberRoom();
  const session = () => toBase64Url(randomBytes(16));
  const sent = [{ session: session(), seq: 4 }, { session: session(), seq: 0 }];
  assert.deepEqual([...applyRoomEvent(state, ev(state, 'leave', 'bob', { sent }), ctx).members.keys()], ['alice', 'carol']);
  assert.deepEqual([...applyRoomEvent(state, ev(state, 'kick', 'alice', { subject: 'bob', sent }), ctx).members.keys()], ['alice', 'carol']);
  refuses(state, ev(state, 'join', 'dave', { sent }), 'room.invalid_event');
  refuses(state, ev(state, 'close', 'alice', { sent }), 'room.invalid_event');
  refuses(state, ev(state, 'leave', 'bob', { sent: [sent[0]!, { ...sent[0]!, seq: 9 }] }), 'room.invalid_event');
  // The schema bounds the list (tracker and clients parse with it).
  const many = Array.from({ length: MAX_SENT_SESSIONS + 1 }, () => ({ session: session(), seq: 1 }));
  assert.throws(() => roomEventSchema.parse(ev(state, 'leave', 'bob', { sent: many }), 'event'), /sent/);
  assert.doesNotThrow(() => roomEventSchema.parse(ev(state, 'leave', 'bob', { sent: many.slice(1) }), 'event'));
  // Signed: a tracker cannot stretch it.
  const leave = ev(state, 'leave', 'bob', { sent });
  refuses(state, { ...leave, sent: [{ ...sent[0]!, seq: 5 }, sent[1]!] }, 'room.bad_signature');
  // The largest event (a kick of a 32-character name naming every session, at huge seqs) still
  // lets a chunk of the log fit one peer message (peer/room-sync.ts sendLog).
  const longest = 'k'.repeat(32);
  const full = { ...ev(state, 'kick', 'alice', { subject: longest, sent: many.slice(1).map((x) => ({ ...x, seq: Number.MAX_SAFE_INTEGER })) }), actor: 'a'.repeat(32), room: 'r'.repeat(43), prev: 'p'.repeat(43), seq: Number.MAX_SAFE_INTEGER, time: Number.MAX_SAFE_INTEGER };
  const bytes = Buffer.byteLength(JSON.stringify(roomEventSchema.parse(full, 'event')));
  assert.ok(bytes < 4608, `an event is at most ${bytes} bytes`);
  const frame = Buffer.byteLength(JSON.stringify({ t: 'log', room: 'r'.repeat(43), events: Array.from({ length: LOG_CHUNK }, () => full) }));
  assert.ok(frame < MAX_MESSAGE_BYTES, `a log chunk of ${LOG_CHUNK} such events is ${frame} bytes, under the ${MAX_MESSAGE_BYTES}-byte link limit`);
});

// ---- signatures -------------------------------------------------------------------------------

test('bad signatures: another user\'s key, an event altered after signing, a signature for another use', () => {
  const { state } = threeMemberRoom();
  // bob signs a kick "by alice" (a tracker or member forging the owner's act).
  refuses(state, ev(state, 'kick', 'alice', { subject: 'carol' }, 'bob'), 'room.bad_signature');
  refuses(state, ev(state, 'join', 'dave', {}, 'erin'), 'room.bad_signature');

  // Altered after signing: each changed field breaks the signature.
  const kick = ev(state, 'kick', 'alice', { subject: 'bob' });
  assert.deepEqual([...applyRoomEvent(state, kick, ctx).members.keys()], ['alice', 'carol']);
  refuses(state, { ...kick, subject: 'carol' }, 'room.bad_signature');
  refuses(state, { ...kick, time: kick.time + 1 }, 'room.bad_signature');
  const join = ev(state, 'join', 'dave');
  refuses(state, { ...join, actor: 'erin' }, 'room.bad_signature');
  refuses(state, { ...join, type: 'leave', actor: 'bob' }, 'room.bad_signature');
  // A proof added to a signed join (the signature covers the proof).
  refuses(state, { ...join, proof: toBase64Url(randomBytes(32)) }, 'room.bad_signature');

  // The right key and the right bytes, but signed under another label.
  const unsigned = next(state, 'kick', 'alice', { subject: 'bob' });
  const wrongUse: RoomEvent = { ...unsigned, sig: toBase64Url(signPss(privateKeyOf('alice'), LABELS.message, signingBytes(unsigned))) };
  refuses(state, wrongUse, 'room.bad_signature');
  const rightUse: RoomEvent = { ...unsigned, sig: toBase64Url(signPss(privateKeyOf('alice'), LABELS.roomEvent, signingBytes(unsigned))) };
  assert.equal(applyRoomEvent(state, rightUse, ctx).head.seq, 3);

  // A create signed by someone else than its owner.
  refuses(null, { ...createEvent('bob'), actor: 'alice' }, 'room.bad_signature');
});

test('an unknown actor is refused with user.not_found', () => {
  const { state } = threeMemberRoom();
  const join = ev(state, 'join', 'dave');
  refuses(state, { ...join, actor: 'mallory' }, 'user.not_found');
  // dave's key deleted from the directory: his own valid event cannot be checked.
  const withoutDave: ApplyContext = { signingKey: (u) => (u === 'dave' ? undefined : keys.get(u)?.publicKey) };
  refuses(state, join, 'user.not_found', withoutDave);
  refuses(null, createEvent('dave'), 'user.not_found', withoutDave);
});

test('applyRoomEvent never mutates the input state, refused or accepted', () => {
  const { state } = threeMemberRoom();
  const before = snapshot(state);
  const members = state.members;
  // Refusals at every stage of the checks (refuses() also checks each one).
  refuses(state, ev(state, 'kick', 'alice', { subject: 'bob' }, 'carol'), 'room.bad_signature');
  refuses(state, ev(state, 'kick', 'bob', { subject: 'alice' }), 'room.not_owner');
  refuses(state, ev(state, 'kick', 'alice', { subject: 'dave' }), 'room.not_member');
  refuses(state, ev(state, 'join', 'dave', { seq: 9 }), 'room.stale_head');
  // Accepted events return a new state and leave the old one as it was.
  const kicked = applyRoomEvent(state, ev(state, 'kick', 'alice', { subject: 'bob' }), ctx);
  const left = applyRoomEvent(state, ev(state, 'leave', 'alice'), ctx);
  const closed = applyRoomEvent(state, ev(state, 'close', 'alice'), ctx);
  assert.equal(kicked.members.has('bob'), false);
  assert.equal(left.owner, 'bob');
  assert.equal(closed.closed, true);
  assert.notEqual(kicked.members, members);
  assert.deepEqual(snapshot(state), before);
  assert.equal(state.members, members);
});

// ---- ownership --------------------------------------------------------------------------------

test('ownership: the owner leaving passes it to the longest-standing member, the same in replay', () => {
  const create = createEvent('alice');
  const { state, events } = chain(
    applyRoomEvent(null, create, ctx),
    (s) => ev(s, 'join', 'bob'), // 1
    (s) => ev(s, 'join', 'carol'), // 2
    (s) => ev(s, 'leave', 'bob'), // 3: bob's standing is lost...
    (s) => ev(s, 'join', 'bob'), // 4: ...and starts again
    (s) => ev(s, 'join', 'dave'), // 5
    (s) => ev(s, 'leave', 'alice'), // 6: carol (joined at 2) is now the longest-standing
  );
  assert.equal(state.owner, 'carol');
  assert.deepEqual([...state.members], [['carol', 2], ['bob', 4], ['dave', 5]]);
  const replayed = replayRoomLog([create, ...events], ctx);
  assert.deepEqual(snapshot(replayed), snapshot(state));

  // The new owner has the owner's powers; the old one, back as a member, has not.
  const { state: later } = chain(state, (s) => ev(s, 'kick', 'carol', { subject: 'dave' }), (s) => ev(s, 'join', 'alice'));
  assert.equal(later.owner, 'carol');
  refuses(later, ev(later, 'kick', 'alice', { subject: 'carol' }), 'room.not_owner');
  refuses(later, ev(later, 'close', 'alice'), 'room.not_owner');
  refuses(later, ev(later, 'close', 'bob'), 'room.not_owner');
  // And when carol leaves too, bob (joined at 4) is next, before alice (joined at 8).
  assert.equal(applyRoomEvent(later, ev(later, 'leave', 'carol'), ctx).owner, 'bob');
});

test('ownership: the last member leaving leaves no owner; the next joiner becomes the owner', () => {
  const create = createEvent('alice');
  const { state: empty, events } = chain(applyRoomEvent(null, create, ctx), (s) => ev(s, 'leave', 'alice'));
  assert.equal(empty.owner, null);
  assert.equal(empty.members.size, 0);
  refuses(empty, ev(empty, 'close', 'alice'), 'room.not_owner');
  refuses(empty, ev(empty, 'leave', 'alice'), 'room.not_member');

  const { state, events: more } = chain(empty, (s) => ev(s, 'join', 'bob'), (s) => ev(s, 'join', 'alice'));
  assert.equal(state.owner, 'bob');
  assert.deepEqual([...state.members.keys()], ['bob', 'alice']);
  assert.equal(replayRoomLog([create, ...events, ...more], ctx).owner, 'bob');
  assert.equal(applyRoomEvent(state, ev(state, 'kick', 'bob', { subject: 'alice' }), ctx).members.has('alice'), false);
  refuses(state, ev(state, 'kick', 'alice', { subject: 'bob' }), 'room.not_owner');
});

// ---- private rooms ----------------------------------------------------------------------------

const PASSWORD = 'orange piano lighthouse 42';

test('deriveRoomPasswordKeys: deterministic in password and salt; the check value is not the proof key', async () => {
  const salt = toBase64Url(randomBytes(16));
  const [a, b, otherPw, otherSalt] = await Promise.all([
    deriveRoomPasswordKeys(PASSWORD, salt, FAST_SCRYPT),
    deriveRoomPasswordKeys(PASSWORD, salt, FAST_SCRYPT),
    deriveRoomPasswordKeys(PASSWORD + '!', salt, FAST_SCRYPT),
    deriveRoomPasswordKeys(PASSWORD, toBase64Url(randomBytes(16)), FAST_SCRYPT),
  ]);
  assert.deepEqual(a.proofKey, b.proofKey);
  assert.equal(a.check, b.check);
  assert.equal(a.proofKey.length, 32);
  assert.equal(Buffer.from(a.check, 'base64url').length, 32);
  // The tracker learns `check`; it must tell it nothing about the proof key.
  assert.notDeepEqual(Buffer.from(a.check, 'base64url'), a.proofKey);
  assert.notEqual(a.check, toBase64Url(a.proofKey));
  for (const other of [otherPw, otherSalt]) {
    assert.notDeepEqual(other.proofKey, a.proofKey);
    assert.notEqual(other.check, a.check);
  }
});

test('private room: a join proof under the password key is accepted; wrong, copied or missing proofs are refused', async () => {
  const create = createEvent('alice', { private: true, name: 'secret' });
  const room = applyRoomEvent(null, create, ctx);
  assert.equal(room.private, true);
  const [right, wrong]: RoomPasswordKeys[] = await Promise.all([
    deriveRoomPasswordKeys(PASSWORD, room.salt, FAST_SCRYPT),
    deriveRoomPasswordKeys('not the password', room.salt, FAST_SCRYPT),
  ]);
  // A client's context: it knows the password, so it checks every join's proof.
  const client: ApplyContext = { ...ctx, checkProof: (e) => checkJoinProof(e, right.proofKey) };
  const joinWith = (state: RoomState, actor: string, key: Buffer | null, extra: Partial<UnsignedRoomEvent> = {}): RoomEvent => {
    const unsigned = next(state, 'join', actor, extra);
    return signRoomEvent(key ? { ...unsigned, proof: joinProof(unsigned, key) } : unsigned, privateKeyOf(actor));
  };

  const bobJoin = joinWith(room, 'bob', right.proofKey);
  assert.equal(checkJoinProof(bobJoin, right.proofKey), true);
  assert.equal(checkJoinProof(bobJoin, wrong.proofKey), false);
  const withBob = applyRoomEvent(room, bobJoin, client);
  assert.ok(withBob.members.has('bob'));

  refuses(room, joinWith(room, 'bob', wrong.proofKey), 'room.bad_password', client);
  refuses(room, joinWith(room, 'bob', null), 'room.bad_password', client);
  // bob's proof copied into carol's join, at the same seq and at the next one.
  refuses(room, signRoomEvent({ ...next(room, 'join', 'carol'), proof: bobJoin.proof! }, privateKeyOf('carol')), 'room.bad_password', client);
  refuses(withBob, signRoomEvent({ ...next(withBob, 'join', 'carol'), proof: bobJoin.proof! }, privateKeyOf('carol')), 'room.bad_password', client);
  // bob's proof replayed for bob himself after he left (other seq and prev).
  const left = applyRoomEvent(withBob, ev(withBob, 'leave', 'bob'), client);
  refuses(left, signRoomEvent({ ...next(left, 'join', 'bob'), proof: bobJoin.proof! }, privateKeyOf('bob')), 'room.bad_password', client);
  assert.ok(applyRoomEvent(left, joinWith(left, 'bob', right.proofKey), client).members.has('bob'), 'a fresh proof is accepted');
  // A proof with the same time but for another room id is not bob's proof either.
  assert.equal(checkJoinProof({ ...bobJoin, room: eventHash(createEvent('alice')) }, right.proofKey), false);

  // The tracker's view: it never knows the password, so it passes no checkProof and
  // applyRoomEvent accepts a proof-less join; the tracker then checks the join's bcrypt check
  // value itself (tracker/rooms.ts). Clients always pass checkProof, so members still refuse it.
  const tracker: ApplyContext = { signingKey: ctx.signingKey };
  const proofless = joinWith(room, 'carol', null);
  assert.ok(applyRoomEvent(room, proofless, tracker).members.has('carol'));
  refuses(room, proofless, 'room.bad_password', client);
  // A public room's joins need no proof even with a client context.
  const pub = applyRoomEvent(null, createEvent('alice'), ctx);
  assert.ok(applyRoomEvent(pub, joinWith(pub, 'carol', null), client).members.has('carol'));
});

// ---- replay -----------------------------------------------------------------------------------

/** A tiny deterministic PRNG (mulberry32), so the "random" log is the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('replayRoomLog over a 50-event log equals step-by-step application and an independent model', () => {
  const rand = prng(20240601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const create = createEvent('alice');
  let state = applyRoomEvent(null, create, ctx);
  const events: RoomEvent[] = [create];
  const states: RoomState[] = [state];
  // The model: members in seniority order, and the owner, by the rules of DESIGN.md.
  let model: { members: string[]; owner: string | null } = { members: ['alice'], owner: 'alice' };
  const seen = new Set<string>();
  let ownerChanges = 0;

  while (events.length < 50) {
    const outside = USERS.filter((u) => !model.members.includes(u));
    const options: Array<() => [RoomEvent, typeof model]> = [];
    if (outside.length) {
      const u = pick(outside);
      options.push(() => [ev(state, 'join', u), { members: [...model.members, u], owner: model.owner ?? u }]);
    }
    if (model.members.length) {
      const u = pick(model.members);
      options.push(() => {
        const members = model.members.filter((m) => m !== u);
        return [ev(state, 'leave', u), { members, owner: model.owner === u ? members[0] ?? null : model.owner }];
      });
    }
    const owner = model.owner;
    const others = model.members.filter((m) => m !== owner);
    if (owner && others.length) {
      const u = pick(others);
      options.push(() => [ev(state, 'kick', owner, { subject: u }), { members: model.members.filter((m) => m !== u), owner }]);
    }
    const [event, nextModel] = pick(options)();
    state = applyRoomEvent(state, event, ctx);
    if (nextModel.owner !== model.owner) ownerChanges++;
    model = nextModel;
    events.push(event);
    states.push(state);
    seen.add(event.type);
    assert.deepEqual([...state.members.keys()], model.members, `members after seq ${event.seq}`);
    assert.equal(state.owner, model.owner, `owner after seq ${event.seq}`);
  }
  // The log is worth replaying: it exercises every kind of event and moves ownership.
  assert.deepEqual([...seen].sort(), ['join', 'kick', 'leave']);
  assert.ok(ownerChanges >= 2, `ownership moved ${ownerChanges} times`);

  assert.equal(events.length, 50);
  assert.deepEqual(snapshot(replayRoomLog(events, ctx)), snapshot(state));
  // Every prefix replays to the state reached at that point.
  for (const n of [1, 2, 17, 33, 49]) assert.deepEqual(snapshot(replayRoomLog(events.slice(0, n), ctx)), snapshot(states[n - 1]!));
  // Through JSON and the schema, as a client receives the log from the tracker or a peer.
  const wire = events.map((e) => roomEventSchema.parse(JSON.parse(JSON.stringify(e))));
  assert.deepEqual(snapshot(replayRoomLog(wire, ctx)), snapshot(state));

  // Two events swapped: the chain breaks.
  const swapped = [...events];
  [swapped[20], swapped[21]] = [swapped[21]!, swapped[20]!];
  assert.throws(() => replayRoomLog(swapped, ctx), hasCode('room.stale_head'));
  // An event dropped (a tracker hiding a kick, say): the chain breaks too.
  assert.throws(() => replayRoomLog([...events.slice(0, 30), ...events.slice(31)], ctx), hasCode('room.stale_head'));
  // The create moved: the log must start with it.
  assert.throws(() => replayRoomLog([events[1]!, events[0]!, ...events.slice(2)], ctx), hasCode('room.invalid_event'));
  assert.throws(() => replayRoomLog([], ctx), hasCode('room.invalid_event'));
});
