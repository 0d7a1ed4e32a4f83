// Everything said between a client and the tracker, declared once: requests (with `id`),
// responses (echoing it), and pushed events (with `event`). The tracker parses requests with
// these schemas; clients parse responses and events with them.

import { identitySchema } from './identity.ts';
import { roomEventSchema, roomHeadSchema } from './room-log.ts';
import { arr, b64url, bool, int, obj, oneOf, optional, str, variants, type Infer } from './schema.ts';
import { ERROR_CODES } from './errors.ts';

export const DEFAULT_TRACKER_PORT = 12345;
/** A client pings at this interval; the tracker drops a client silent for HEARTBEAT_TIMEOUT_MS. */
export const HEARTBEAT_INTERVAL_MS = 15_000;
export const HEARTBEAT_TIMEOUT_MS = 45_000;
/** `room_log` answers at most this many events; clients ask again from where it stopped. */
export const ROOM_LOG_PAGE = 1000;

// Names are checked (and lowercased) by protocol/names.ts, so the schema only bounds them.
const name = str({ min: 1, max: 64 });
const roomId = b64url({ bytes: 32 });
const salt = b64url({ bytes: 16 });
const authKey = b64url({ bytes: 32 });
const token = b64url({ bytes: 32 });
/** The client's private keys, encrypted under keyKey; opaque to the tracker. */
const keyBlob = b64url({ maxBytes: 8 * 1024 });
const port = int({ min: 0, max: 65535 });

// ---- requests --------------------------------------------------------------------------------

export const trackerRequestSchema = variants(
  'type',
  {
    prelogin: obj({ user: name }),
    register: obj({ user: name, salt, authKey, identity: identitySchema, keyBlob }),
    login: obj({ user: name, authKey, peerPort: port }),
    resume: obj({ token, peerPort: port }),
    logout: obj({}),
    change_password: obj({ authKey, newSalt: salt, newAuthKey: authKey, newKeyBlob: keyBlob }),
    ping: obj({}),
    list_peers: obj({}),
    list_rooms: obj({}),
    create_room: obj({ event: roomEventSchema, check: optional(authKey) }),
    append: obj({ event: roomEventSchema, check: optional(authKey) }),
    room_log: obj({ room: roomId, from: int({ min: 0 }) }),
    get_keys: obj({ users: arr(name, { max: 256 }) }),
  },
  'request.unknown_type',
);
export type TrackerRequest = Infer<typeof trackerRequestSchema>;
export type TrackerRequestType = TrackerRequest['type'];
export type RequestOf<T extends TrackerRequestType> = Extract<TrackerRequest, { type: T }>;
export type RequestParams<T extends TrackerRequestType> = Omit<RequestOf<T>, 'type'>;
export const requestIdSchema = int({ min: 0 });

/** Requests a connection may make before it has logged in. */
export const UNAUTHENTICATED_REQUESTS: readonly TrackerRequestType[] = ['prelogin', 'register', 'login', 'resume', 'ping'];

// ---- shared shapes ---------------------------------------------------------------------------

export const peerInfoSchema = obj({
  user: name,
  online: bool(),
  /** The address the tracker sees the peer connect from. */
  address: optional(str({ max: 64 })),
  port: optional(port),
  fingerprint: str({ max: 80 }),
});
export type PeerInfo = Infer<typeof peerInfoSchema>;

export const roomSummarySchema = obj({
  id: roomId,
  name,
  private: bool(),
  owner: optional(name),
  members: int({ min: 0 }),
  online: int({ min: 0 }),
  closed: bool(),
  head: roomHeadSchema,
  /** Whether the asking user is a member. */
  member: bool(),
});
export type RoomSummary = Infer<typeof roomSummarySchema>;

export const publicIdentitySchema = obj({ user: name, fingerprint: str({ max: 80 }), ...identitySchema.shape });
export type PublicIdentity = Infer<typeof publicIdentitySchema>;

const session = {
  user: name,
  token,
  keyBlob,
  identity: identitySchema,
  peers: arr(peerInfoSchema, { max: 100_000 }),
  rooms: arr(roomSummarySchema, { max: 100_000 }),
};

// ---- responses -------------------------------------------------------------------------------

export const trackerResultSchemas = {
  prelogin: obj({ salt }),
  register: obj({ user: name }),
  login: obj(session),
  resume: obj(session),
  logout: obj({}),
  change_password: obj({ token }),
  ping: obj({ time: int() }),
  list_peers: obj({ peers: arr(peerInfoSchema, { max: 100_000 }) }),
  list_rooms: obj({ rooms: arr(roomSummarySchema, { max: 100_000 }) }),
  create_room: obj({ room: roomSummarySchema }),
  append: obj({ room: roomSummarySchema }),
  room_log: obj({ room: roomSummarySchema, events: arr(roomEventSchema, { max: 100_000 }) }),
  get_keys: obj({ keys: arr(publicIdentitySchema, { max: 256 }), missing: arr(name, { max: 256 }) }),
} satisfies Record<TrackerRequestType, unknown>;
export type TrackerResult<T extends TrackerRequestType> = Infer<(typeof trackerResultSchemas)[T]>;

export const errorBodySchema = obj({
  code: oneOf(...ERROR_CODES),
  message: str({ max: 1000 }),
  retryAfterMs: optional(int({ min: 0 })),
});
export type ErrorBody = Infer<typeof errorBodySchema>;

/** `{id, ok: true, ...result}` or `{id, ok: false, error}`; `id` is null when the request had none. */
export type TrackerResponse =
  | ({ id: number; ok: true } & Record<string, unknown>)
  | { id: number | null; ok: false; error: ErrorBody };

// ---- events ----------------------------------------------------------------------------------

export const trackerEventSchema = variants('event', {
  /** Someone logged in, out, or vanished. */
  presence: peerInfoSchema,
  /** An event was appended to a room the receiver is (or just stopped being) a member of. */
  room_event: obj({ room: roomSummarySchema, entry: roomEventSchema }),
  /** A room was created, closed, or its member count changed: for room lists. */
  room_listed: obj({ room: roomSummarySchema }),
  /** The tracker is about to close this connection, and why. */
  closing: errorBodySchema,
});
export type TrackerEvent = Infer<typeof trackerEventSchema>;

export const isResponse = (v: unknown): v is { id: number | null; ok: boolean } =>
  typeof v === 'object' && v !== null && 'ok' in v && 'id' in v;
