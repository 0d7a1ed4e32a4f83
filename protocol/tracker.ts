// Everything said between a client and the tracker, declared once: requests (with `id`),
// responses (echoing it), and pushed events (with `event`). The tracker parses requests with
// these schemas; clients parse responses and events with them.

import { identitySchema } from './identity.ts';
import { deviceIdSchema, envelopeSchema, sessionBundleSchema } from './peer.ts';
import { roomEventSchema, roomHeadSchema } from './room-log.ts';
import { arr, b64url, bool, int, obj, oneOf, optional, str, variants, type Infer } from './schema.ts';
import { ERROR_CODES } from './errors.ts';

export const DEFAULT_TRACKER_PORT = 12345;
/** A client pings at this interval; the tracker drops a client silent for HEARTBEAT_TIMEOUT_MS. */
export const HEARTBEAT_INTERVAL_MS = 15_000;
export const HEARTBEAT_TIMEOUT_MS = 45_000;
/**
 * Every list the tracker answers (list_rooms, list_peers, room_log, the login and resume
 * answers' rooms and peers) comes a page at a time: at most this many entries by default (the
 * tracker's --page-size), with a `next` cursor when more follow, so no answer grows with the
 * data. Clients ask again from `next` (peer/tracker-session.ts does it for its callers).
 */
export const LIST_PAGE_SIZE = 200;
/** The most entries one page may hold (the bound of --page-size). */
export const MAX_PAGE_SIZE = 10_000;
/** A client stops following `next` after this many entries of one list (a tracker could page forever). */
export const MAX_LIST_ENTRIES = 100_000;
/** Default quotas (tracker flags): open rooms a user may have created, rooms a user may be in. */
export const MAX_ROOMS_CREATED_PER_USER = 100;
export const MAX_ROOMS_JOINED_PER_USER = 500;
/** Room events (creates, joins, leaves, kicks, closes) one user may add per minute: logs are kept forever. */
export const ROOM_EVENTS_PER_USER_MINUTE = 300;
/** Requests other than ping a connection may send before it logs in (prelogin, register, login...); then it is closed. */
export const MAX_REQUESTS_BEFORE_LOGIN = 50;
/** Resume tokens the tracker keeps per user (one per login); a login beyond revokes the oldest. */
export const MAX_SESSIONS_PER_USER = 50;
/**
 * The mailbox (`node tracker --mailbox`, tracker/mailbox.ts) holds sealed envelopes and session
 * bundles for members who are offline. Defaults of its flags: items and bytes one user's mailbox
 * may hold, and how long an item is kept (ms) before it is dropped and its depositor told.
 */
export const MAILBOX_MAX_ITEMS_PER_USER = 5000;
export const MAILBOX_MAX_BYTES_PER_USER = 32 * 1024 * 1024;
export const MAILBOX_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
/** Items one mailbox_put may carry. */
export const MAILBOX_MAX_ITEMS_PER_PUT = 256;
/**
 * The largest request frame of a logged-in client when the mailbox is on (a put carries a whole
 * envelope or bundle, as big as a peer frame); before login, and without the mailbox, requests
 * stay under TRACKER_FRAME_LIMIT.
 */
export const MAILBOX_FRAME_LIMIT = 1024 * 1024;
/** Messages one mailbox_withdraw may name. */
export const MAILBOX_MAX_ITEMS_PER_WITHDRAW = 256;
/** Drop notices in one mailbox_dropped event (more go in further events). */
export const MAILBOX_MAX_DROPS_PER_EVENT = 500;
/** Item bytes one mailbox_take answer holds at most (at least one item, whatever its size). */
export const MAILBOX_TAKE_MAX_BYTES = 4 * 1024 * 1024;

// Names are checked (and lowercased) by protocol/names.ts, so the schema only bounds them.
const name = str({ min: 1, max: 64 });
const roomId = b64url({ bytes: 32 });
const salt = b64url({ bytes: 16 });
const authKey = b64url({ bytes: 32 });
const token = b64url({ bytes: 32 });
/** The client's private keys, encrypted under keyKey; opaque to the tracker. */
const keyBlob = b64url({ maxBytes: 8 * 1024 });
const port = int({ min: 0, max: 65535 });
/** Devices listed for one user at most; a user's connections are bounded lower (--max-conns-per-user). */
export const MAX_DEVICES_LISTED = 64;

/**
 * What a mailbox holds: a `session` (bundle) or an `envelope` peer message (protocol/peer.ts
 * peerMessageSchema's variants of those names); any other kind is refused (request.invalid).
 * Only the declared fields are kept, so nothing else a client adds is ever stored.
 */
export const mailboxItemSchema = variants('t', {
  session: obj({ bundle: sessionBundleSchema }),
  envelope: obj({ envelope: envelopeSchema }),
});
export type MailboxItem = Infer<typeof mailboxItemSchema>;
/** An item id: increasing, never reused (acks name the last id taken). */
const mailboxId = int({ min: 1 });
/** One of the asker's envelopes, by where it belongs: the message a mailbox_withdraw takes back. */
export const mailboxWithdrawItemSchema = obj({ room: str({ min: 1, max: 80 }), session: b64url({ bytes: 16 }), seq: int({ min: 0 }) });
export type MailboxWithdrawItem = Infer<typeof mailboxWithdrawItemSchema>;

// ---- requests --------------------------------------------------------------------------------

export const trackerRequestSchema = variants(
  'type',
  {
    prelogin: obj({ user: name }),
    register: obj({ user: name, salt, authKey, identity: identitySchema, keyBlob }),
    /** `device`: this data folder's id; absent from clients older than devices (one unnamed device). */
    login: obj({ user: name, authKey, peerPort: port, device: optional(deviceIdSchema) }),
    resume: obj({ token, peerPort: port, device: optional(deviceIdSchema) }),
    /** `everywhere`: every session of the user ends (all devices), not only this one. */
    logout: obj({ everywhere: optional(bool()) }),
    change_password: obj({ authKey, newSalt: salt, newAuthKey: authKey, newKeyBlob: keyBlob }),
    ping: obj({}),
    /** `after`: the `next` of the previous page; `online`: only the users online now. */
    list_peers: obj({ after: optional(name), online: optional(bool()) }),
    /** `after`: the `next` of the previous page; `mine`: only rooms the asker is in; `name`: only that room. */
    list_rooms: obj({ after: optional(name), mine: optional(bool()), name: optional(name) }),
    create_room: obj({ event: roomEventSchema, check: optional(authKey) }),
    append: obj({ event: roomEventSchema, check: optional(authKey) }),
    room_log: obj({ room: roomId, from: int({ min: 0 }) }),
    get_keys: obj({ users: arr(name, { max: 256 }) }),
    /**
     * Deposit items for `to` (offline): each item's sender must be the asker, and both must be
     * the two names of a DM or current members of the room (tracker/mailbox.ts has every rule).
     */
    mailbox_put: obj({ to: name, items: arr(mailboxItemSchema, { max: MAILBOX_MAX_ITEMS_PER_PUT }) }),
    /** The asker's oldest items, at most `limit` (default and bound: the page size). */
    mailbox_take: obj({ limit: optional(int({ min: 1, max: MAX_PAGE_SIZE })) }),
    /** Deletes the asker's items up to and including id `upTo`: only after the client stored them. */
    mailbox_ack: obj({ upTo: mailboxId }),
    /**
     * Takes back envelopes the asker left for `to` (its author deleted them): only the asker's own
     * items in `to`'s mailbox are ever removed; an item not there (taken, expired, never left) is
     * passed over. Session bundles stay (they hold no text).
     */
    mailbox_withdraw: obj({ to: name, items: arr(mailboxWithdrawItemSchema, { max: MAILBOX_MAX_ITEMS_PER_WITHDRAW }) }),
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

/** One device of a user online now: where its peer listens. */
export const deviceInfoSchema = obj({
  device: deviceIdSchema,
  /** The address the tracker sees the device connect from. */
  address: str({ max: 64 }),
  port,
  online: bool(),
});
export type DeviceInfo = Infer<typeof deviceInfoSchema>;

export const peerInfoSchema = obj({
  user: name,
  /** Online while any device of the user is. */
  online: bool(),
  /** The address the tracker sees the peer connect from (the newest device's). */
  address: optional(str({ max: 64 })),
  port: optional(port),
  fingerprint: str({ max: 80 }),
  /** Every device online now, newest last (absent from trackers older than devices). */
  devices: optional(arr(deviceInfoSchema, { max: MAX_DEVICES_LISTED })),
});
export type PeerInfo = Infer<typeof peerInfoSchema>;

/**
 * Where each device of a user listens, as a presence row says: every device online with a port,
 * or the one address of a tracker older than devices (`device` undefined); none when offline.
 */
export function deviceRoutes(p: PeerInfo | undefined): { device?: string; host: string; port: number }[] {
  if (!p?.online) return [];
  if (p.devices) return p.devices.filter((d) => d.online && d.port).map((d) => ({ device: d.device, host: d.address, port: d.port }));
  return p.address && p.port ? [{ host: p.address, port: p.port }] : [];
}

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

const page = { max: MAX_PAGE_SIZE };

/** The mailbox's bounds, advertised in the login and resume answers. */
export const mailboxLimitsSchema = obj({
  /** Items, and bytes of their JSON, one user's mailbox holds at most. */
  maxItemsPerUser: int({ min: 1 }),
  maxBytesPerUser: int({ min: 1 }),
  /** An item older than this (ms since it was deposited) is dropped and its depositor told. */
  maxAgeMs: int({ min: 1 }),
});
export type MailboxLimits = Infer<typeof mailboxLimitsSchema>;

/** One item handed to its recipient: `from` deposited it (and is its sender). */
export const mailboxEntrySchema = obj({ id: mailboxId, from: name, msg: mailboxItemSchema });
export type MailboxEntry = Infer<typeof mailboxEntrySchema>;

/** One item the mailbox dropped unread: which message, and why. */
export const mailboxDropSchema = obj({
  room: str({ max: 80 }),
  sender: name,
  session: str({ max: 64 }),
  /** The envelope's seq; absent for a session bundle. */
  seq: optional(int({ min: 0 })),
  reason: oneOf('expired', 'full'),
});
export type MailboxDrop = Infer<typeof mailboxDropSchema>;

const session = {
  user: name,
  token,
  keyBlob,
  identity: identitySchema,
  /** The first page of the users online now; `peersNext` when more follow (list_peers online). */
  peers: arr(peerInfoSchema, page),
  peersNext: optional(name),
  /** The first page of the rooms the user is in; `roomsNext` when more follow (list_rooms mine). */
  rooms: arr(roomSummarySchema, page),
  roomsNext: optional(name),
  /** Present when the tracker keeps a mailbox (--mailbox): its bounds per user and its age limit. */
  mailbox: optional(mailboxLimitsSchema),
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
  list_peers: obj({ peers: arr(peerInfoSchema, page), next: optional(name) }),
  list_rooms: obj({ rooms: arr(roomSummarySchema, page), next: optional(name) }),
  create_room: obj({ room: roomSummarySchema }),
  append: obj({ room: roomSummarySchema }),
  /** `next`: the `from` of the following page, when the log goes on past this one. */
  room_log: obj({ room: roomSummarySchema, events: arr(roomEventSchema, page), next: optional(int({ min: 0 })) }),
  get_keys: obj({ keys: arr(publicIdentitySchema, { max: 256 }), missing: arr(name, { max: 256 }) }),
  /** `stored`: how many items were kept (all of them: a put is stored whole or refused whole). */
  mailbox_put: obj({ stored: int({ min: 0 }) }),
  /** Oldest first; `more` when items are left after these. */
  mailbox_take: obj({ items: arr(mailboxEntrySchema, page), more: bool() }),
  /** `removed`: how many items the ack deleted. */
  mailbox_ack: obj({ removed: int({ min: 0 }) }),
  /** `removed`: how many of the named items were still there and are now gone. */
  mailbox_withdraw: obj({ removed: int({ min: 0 }) }),
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
  /**
   * To a depositor: items it left for `to` were dropped unread (at once when it is online, else
   * after its next login or resume). At most MAILBOX_MAX_DROPS_PER_EVENT items per event.
   */
  mailbox_dropped: obj({ to: name, items: arr(mailboxDropSchema, { max: MAILBOX_MAX_DROPS_PER_EVENT }) }),
});
export type TrackerEvent = Infer<typeof trackerEventSchema>;

export const isResponse = (v: unknown): v is { id: number | null; ok: boolean } =>
  typeof v === 'object' && v !== null && 'ok' in v && 'id' in v;
