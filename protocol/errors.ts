// Stable error codes shared by the tracker, the peers and every client (DESIGN.md "Wire: frames").
// A code never changes meaning; the message is for people and may be reworded.

// ONE registry: every code any part of the system uses, grouped by area, each declared once. `wire`
// marks the codes the tracker may send; that set is what old clients accept on the wire, so it
// must only ever grow. `local` codes are made by peers and clients (links, sender keys, crypto,
// the tracker link as seen from a client, the terminal client's own checks).

interface CodeEntry {
  /** True when the tracker may put this code in an error frame. */
  readonly wire: boolean;
  /** One line for people reading the code. */
  readonly doc: string;
}
const wire = <D extends string>(doc: D) => ({ wire: true, doc }) as const;
const local = <D extends string>(doc: D) => ({ wire: false, doc }) as const;

export const ERROR_REGISTRY = {
  request: {
    'request.invalid': wire('a frame or a field of it fails its schema, or bad input to a command'),
    'request.too_large': wire('a frame over the size limit'),
    'request.unknown_type': wire('a request type the receiver does not know'),
  },
  auth: {
    'auth.required': wire('the request needs a logged-in session'),
    'auth.bad_credentials': wire('wrong user name or password'),
    'auth.salt_changed': wire('the account salt differs from the one the client derived keys with'),
    'auth.bad_token': wire('the resume token has ended or was revoked'),
    'auth.user_exists': wire('the name is taken, or too close to a taken one'),
    'auth.invalid_name': wire('a user name outside the allowed characters or length'),
    'auth.already_authenticated': wire('a login on a session that is already logged in'),
    'auth.weak_password': local('the password breaks the policy (peer/account.ts checkPasswordPolicy)'),
  },
  room: {
    'room.not_found': wire('no such room'),
    'room.name_taken': wire('a room of that name exists'),
    'room.bad_password': wire('the room password (or its proof) is wrong'),
    'room.not_owner': wire('only the owner may do this'),
    'room.not_member': wire('the user is not a member of the room'),
    'room.already_member': wire('the user is already a member'),
    'room.closed': wire('the room is closed'),
    'room.stale_head': wire("the event does not follow the room's head"),
    'room.bad_signature': wire('a room event not signed by its actor'),
    'room.invalid_event': wire('a room event that breaks the room-log rules'),
    'room.forked': wire('two different signed events at one seq: members were shown different histories'),
    'room.undelivered': local('leaving (closing) would lose my messages there that reached no member (not every member) yet; force does it anyway'),
  },
  user: {
    'user.not_found': wire('no such user (or no key known for them)'),
    'key.fingerprint_mismatch': wire('the fingerprint given does not match the key'),
    'key_changed': local("a user's identity key differs from the pinned one; nothing is sent to them until verify"),
  },
  message: {
    'message.blank': wire('a message that would show nothing (protocol/text.ts isBlankMessage)'),
    'message.bad_signature': local('a sender-key envelope not signed by its sender'),
    'message.wrong_session': local('an envelope of another room, head, sender or session'),
    'message.decrypt_failed': local('an envelope that does not decrypt, or to an invalid body'),
    'message.too_far_ahead': local('an envelope beyond the session cap or too far ahead'),
    'message.key_used': local('the message key was used or dropped (a replay)'),
    'message.before_start': local("an envelope before the session's start"),
    'message.too_large': local('a message body too large for one envelope'),
    'message.bad_id': local("an envelope whose body's id is not the one derived from its coordinates (protocol/message-id.ts)"),
    'message.from_the_future': local("a message signed with a time more than a day ahead of this device's clock"),
    'message.not_found': local('a reply, reaction, edit, delete or read receipt naming a message this conversation does not hold'),
    'message.not_author': local("an edit or delete of someone else's message (refused by the sender and by every receiver)"),
    'message.deleted': local('an edit, reply or reaction to a message its author deleted'),
  },
  session: {
    'session.bad_signature': local('a session bundle not signed by its sender'),
    'session.not_for_me': local('a session bundle without a key for me'),
    'session.decrypt_failed': local('the session key wrapped for me does not open'),
    'session.ended': local('a session key refused: the session has ended'),
  },
  link: {
    'link.refused': local('the peer refused the link, or the connection was refused'),
    'link.bad_signature': local('a handshake signature that does not verify'),
    'link.timeout': local('no complete handshake, or no traffic, in time'),
    'link.unknown_user': local('a user without a pinned key here'),
    'link.wrong_user': local('the peer is not the user we meant to reach'),
    'link.protocol': local('the peer broke the link protocol'),
    'link.closed': local('the connection was lost'),
    'link.slow_consumer': local('the peer did not read fast enough'),
    'link.too_large': local('a message over the link limit'),
    'link.invalid_message': local('a link message that fails its schema'),
    'link.busy': local('too many handshakes under way, or a lookup budget spent: try again later'),
  },
  tracker: {
    'tracker.unreachable': local('the tracker cannot be reached (refused, unknown host, timeout, link closed)'),
    'tracker.fingerprint_mismatch': local('the tracker presented a certificate other than the pinned one'),
    'tracker.untrusted': local('the user declined to trust a tracker seen for the first time'),
  },
  crypto: {
    'crypto.bad_key': local('a key that is malformed or of the wrong kind'),
    'crypto.decrypt_failed': local('authenticated decryption failed (wrong key, tampered data, wrong AAD)'),
    'crypto.low_order_point': local('an X25519 public key of low order (all-zero shared secret)'),
  },
  quota: {
    'rate_limited': wire('too many requests; retryAfterMs says when to retry'),
    'quota.exceeded': wire('a per-user quota of the tracker (rooms created, rooms joined) is used up'),
  },
  server: {
    'server.busy': wire('the server (or peer) is overloaded; retry in a moment'),
    'server.timeout': wire('the server did not answer in time'),
    'server.shutdown': wire('the server is shutting down'),
    'slow_consumer': wire('the client did not read fast enough and is dropped'),
    'internal': wire('a bug or an unexpected failure; the message (or a log) has the details'),
    'server.store_busy': local("the engine's message store (store.db) is open in another process: one engine per data folder"),
    'server.data_in_use': local('the data folder is held by another running engine (peer/folder-lock.ts): one engine per data folder'),
    'server.store_damaged': local("the engine's message store cannot be used: not a database, a newer schema, or a record that fails its checks"),
  },
} as const satisfies Record<string, Record<string, CodeEntry>>;

type Registry = typeof ERROR_REGISTRY;
export type ErrorArea = keyof Registry;
/** Every declared code. */
export type ErrorCode = { [A in ErrorArea]: keyof Registry[A] & string }[ErrorArea];
/** The codes of one area. */
export type CodeIn<A extends ErrorArea> = keyof Registry[A] & string;
/** The codes the tracker may send on the wire (and old clients accept). */
export type WireErrorCode = {
  [A in ErrorArea]: { [C in keyof Registry[A]]: Registry[A][C] extends { wire: true } ? C & string : never }[keyof Registry[A]];
}[ErrorArea];

const ENTRIES: readonly [ErrorCode, ErrorArea, CodeEntry][] = (Object.keys(ERROR_REGISTRY) as ErrorArea[]).flatMap((area) =>
  Object.entries(ERROR_REGISTRY[area]).map(([code, entry]) => [code as ErrorCode, area, entry] as [ErrorCode, ErrorArea, CodeEntry]));
const ALL_CODES: ReadonlySet<string> = new Set(ENTRIES.map(([code]) => code));

/** Every declared code, in registry order. */
export const ALL_ERROR_CODES: readonly ErrorCode[] = ENTRIES.map(([code]) => code);
/** View: the tracker's wire codes (protocol/tracker.ts error frames). */
export const ERROR_CODES: readonly WireErrorCode[] = ENTRIES.filter(([, , e]) => e.wire).map(([code]) => code as WireErrorCode);
/** View: the codes of one area. */
export function codesIn<A extends ErrorArea>(area: A): readonly CodeIn<A>[] {
  return Object.keys(ERROR_REGISTRY[area]) as CodeIn<A>[];
}
/** View: peer-link codes (peer/link.ts); the first seven may also arrive in a peer's `refused` frame. */
export const LINK_ERROR_CODES: readonly CodeIn<'link'>[] = codesIn('link');
export type LinkErrorCode = CodeIn<'link'>;
/** Sender-key sessions and envelopes (peer/sender-keys.ts): forged, altered, misaddressed, replayed. */
export type SenderKeyErrorCode = CodeIn<'session'> | Exclude<CodeIn<'message'>, 'message.blank' | 'message.not_found' | 'message.not_author' | 'message.deleted'>;

/** Structured data an error carries besides its code, so nobody has to parse its message. */
export interface ErrorDetails {
  /** tracker.fingerprint_mismatch: the pinned certificate fingerprint. */
  expected?: string;
  /** tracker.fingerprint_mismatch: the presented certificate fingerprint. */
  actual?: string;
  /** auth.weak_password: why the password was refused. */
  problem?: 'too_short' | 'common' | 'predictable';
  /** link.busy: the handshake was evicted to make room for a newcomer (not refused at the door). */
  evicted?: boolean;
  /** link.*: a handshake refused on our side; what the peer was told before the close. */
  remote?: string;
  /** link.closed: the initiator gave up before its hello (its own deadline): nothing was refused. */
  gaveUp?: boolean;
}

export interface CodedErrorOptions {
  /** Present on `rate_limited` (and some `server.busy`): milliseconds until a retry may succeed. */
  retryAfterMs?: number;
  details?: ErrorDetails;
  cause?: unknown;
}

/** The one coded error of the system: a declared code, a message for people, optional data. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  /** Present on `rate_limited`: milliseconds until a retry may succeed. */
  declare readonly retryAfterMs?: number;
  declare readonly details?: ErrorDetails;

  /** `options` may be a bare number: the retryAfterMs. */
  constructor(code: ErrorCode, message: string, options?: number | CodedErrorOptions) {
    const opts: CodedErrorOptions = typeof options === 'number' ? { retryAfterMs: options } : options ?? {};
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProtocolError';
    this.code = code;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.details !== undefined) this.details = opts.details;
  }
}

/** Whether `err` is a coded error (of `code`, when given). */
export function isCoded<C extends ErrorCode>(err: unknown, code?: C): err is ProtocolError & { code: C } {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}

/** Whether `value` is a declared code. */
export function isDeclaredCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ALL_CODES.has(value);
}

/** Whether `value` is a code the tracker may send (so an old client accepts it). */
export function isErrorCode(value: unknown): value is WireErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** The area a declared code belongs to. */
export function areaOf(code: ErrorCode): ErrorArea {
  return ENTRIES.find(([c]) => c === code)![1];
}
