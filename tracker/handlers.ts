// One handler per tracker request. Each returns the result fields of its response or throws a
// ProtocolError; the server turns either into a frame.

import { randomBytes, toBase64Url } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import type { PeerInfo, PublicIdentity, RequestOf, TrackerRequest, TrackerResult, TrackerRequestType } from '../protocol/tracker.ts';
import type { Accounts, Session } from './accounts.ts';
import type { Connection } from './connection.ts';
import type { Logger } from './log.ts';
import type { Mailbox } from './mailbox.ts';
import type { Presence } from './presence.ts';
import { LogThrottle } from './rate-limit.ts';
import { pageOf, type Appended, type Rooms } from './rooms.ts';

/** Refused logins are logged at most 20 per address per 10 s (then one line with the count). */
const refusedLogins = new LogThrottle(10_000, 20);

export interface HandlerContext {
  accounts: Accounts;
  rooms: Rooms;
  presence: Presence;
  log: Logger;
  now(): number;
  /** Entries per page of every list answer (--page-size). */
  pageSize: number;
  /** Logged-in connections one user may hold (--max-conns-per-user). */
  maxConnsPerUser: number;
  /** The mailbox, when the tracker keeps one (--mailbox). */
  mailbox?: Mailbox;
}

type Handlers = { [T in TrackerRequestType]: (ctx: HandlerContext, conn: Connection, req: RequestOf<T>) => Promise<TrackerResult<T>> };

export function handleRequest(ctx: HandlerContext, conn: Connection, req: TrackerRequest): Promise<unknown> {
  if (conn.user && (req.type === 'login' || req.type === 'resume' || req.type === 'register')) {
    throw new ProtocolError('auth.already_authenticated', 'this connection is already logged in; log out first');
  }
  const handler = HANDLERS[req.type] as (ctx: HandlerContext, conn: Connection, req: TrackerRequest) => Promise<unknown>;
  return handler(ctx, conn, req);
}

const HANDLERS: Handlers = {
  prelogin: async (ctx, _conn, req) => ({ salt: await ctx.accounts.prelogin(req.user) }),

  register: async (ctx, conn, req) => {
    const user = await ctx.accounts.register(req, conn.address);
    ctx.log('info', 'registered', { user, address: conn.address });
    return { user };
  },

  login: async (ctx, conn, req) => {
    let session: Session;
    try {
      // Before bcrypt and a new token: a user at the connection limit gets no further.
      checkConnsOfUser(ctx, normalizeUserName(req.user));
      session = await ctx.accounts.login(req.user, req.authKey, conn.address);
    } catch (err) {
      const suppressed = refusedLogins.take(conn.address);
      if (suppressed !== null) {
        ctx.log('warn', 'login refused', { user: req.user.slice(0, 64), address: conn.address, code: (err as ProtocolError).code, ...(suppressed ? { 'refused-since-last-line': suppressed } : {}) });
      }
      throw err;
    }
    return startSession(ctx, conn, session, req.peerPort, req.device);
  },

  resume: async (ctx, conn, req) => startSession(ctx, conn, await ctx.accounts.resume(req.token), req.peerPort, req.device),

  logout: async (ctx, conn, req) => {
    const user = conn.user!;
    const fingerprint = conn.fingerprint;
    if (req.everywhere) await ctx.accounts.revokeTokens(user);
    else await ctx.accounts.logout(conn.token!);
    if (ctx.presence.remove(conn)) ctx.presence.broadcast({ event: 'presence', ...ctx.presence.info(user, fingerprint) });
    conn.deauthenticated();
    if (req.everywhere) {
      // The other devices' tokens are gone: their connections end too (their close tells presence).
      for (const other of [...ctx.presence.connectionsOf(user)]) other.fail('auth.bad_token', 'you logged out everywhere from another device; log in again');
    }
    ctx.log('info', req.everywhere ? 'logged out everywhere' : 'logged out', { user });
    return {};
  },

  change_password: async (ctx, conn, req) => {
    const token = await ctx.accounts.changePassword(conn.user!, req);
    conn.token = token;
    // The other sessions' tokens are revoked: their open connections end too.
    for (const other of [...ctx.presence.connectionsOf(conn.user!)]) {
      if (other !== conn) other.fail('auth.bad_token', 'your password was changed in another session; log in again');
    }
    ctx.log('info', 'password changed, other sessions revoked', { user: conn.user! });
    return { token };
  },

  ping: async (ctx) => ({ time: ctx.now() }),

  list_peers: async (ctx, _conn, req) => {
    const { items, next } = req.online ? onlinePage(ctx, req.after) : pageOf(ctx.accounts.names(), (n) => n, { limit: ctx.pageSize, ...(req.after !== undefined ? { after: req.after } : {}) });
    return { peers: items.map((u) => peerInfo(ctx, u)), ...(next !== undefined ? { next } : {}) };
  },

  list_rooms: async (ctx, conn, req) => {
    const { items, next } = ctx.rooms.page({
      limit: ctx.pageSize,
      viewer: conn.user!,
      ...(req.after !== undefined ? { after: req.after } : {}),
      ...(req.mine ? { mine: true } : {}),
      ...(req.name !== undefined ? { name: req.name } : {}),
    });
    return { rooms: items.map((s) => ctx.rooms.summary(s, conn.user!)), ...(next !== undefined ? { next } : {}) };
  },

  create_room: async (ctx, conn, req) => {
    const done = await ctx.rooms.create(conn.user!, req.event, req.check);
    ctx.log('info', 'room created', { room: done.state.name, owner: conn.user!, private: done.state.private });
    announce(ctx, done);
    return { room: ctx.rooms.summary(done.state, conn.user!) };
  },

  append: async (ctx, conn, req) => {
    const done = await ctx.rooms.append(conn.user!, req.event, req.check);
    ctx.log('info', `room ${req.event.type}`, { room: done.state.name, actor: conn.user!, subject: req.event.subject });
    announce(ctx, done);
    return { room: ctx.rooms.summary(done.state, conn.user!) };
  },

  room_log: async (ctx, conn, req) => {
    const { state, events, next } = await ctx.rooms.log(req.room, req.from, ctx.pageSize);
    return { room: ctx.rooms.summary(state, conn.user!), events, ...(next !== undefined ? { next } : {}) };
  },

  get_keys: async (ctx, _conn, req) => {
    const keys: PublicIdentity[] = [];
    const missing: string[] = [];
    for (const raw of new Set(req.users)) {
      let name: string;
      try {
        name = normalizeUserName(raw);
      } catch {
        missing.push(raw);
        continue;
      }
      const found = await ctx.accounts.keysOf(name);
      if (found) keys.push({ user: name, fingerprint: found.fingerprint, ...found.identity });
      else missing.push(name);
    }
    return { keys, missing };
  },

  mailbox_put: async (ctx, conn, req) => {
    const stored = await mailboxOf(ctx).put(conn.user!, req.to, req.items);
    return { stored };
  },

  mailbox_take: async (ctx, conn, req) => mailboxOf(ctx).take(conn.user!, req.limit ?? ctx.pageSize),

  mailbox_ack: async (ctx, conn, req) => ({ removed: await mailboxOf(ctx).ack(conn.user!, req.upTo) }),

  mailbox_withdraw: async (ctx, conn, req) => ({ removed: await mailboxOf(ctx).withdraw(conn.user!, req.to, req.items) }),
};

/**
 * The mailbox, or the refusal a tracker without one gives. It is request.unknown_type, the answer
 * a tracker older than the mailbox gives too, so a client handles both alike: keep the message.
 */
function mailboxOf(ctx: HandlerContext): Mailbox {
  if (!ctx.mailbox) throw new ProtocolError('request.unknown_type', 'this tracker keeps no mailbox (it was started without --mailbox); messages wait in your outbox until their recipients are online');
  return ctx.mailbox;
}

function checkConnsOfUser(ctx: HandlerContext, user: string): void {
  const open = ctx.presence.connectionsOf(user).length;
  if (open >= ctx.maxConnsPerUser) {
    throw new ProtocolError('server.busy', `${user} already has ${open} connections to the tracker, the most it allows; close a client (or a VS Code window) and retry`);
  }
}

async function startSession(ctx: HandlerContext, conn: Connection, session: Session, peerPort: number, device: string | undefined) {
  checkConnsOfUser(ctx, session.user);
  const keys = await ctx.accounts.keysOf(session.user);
  // The client may have gone while bcrypt ran: a closed connection must not come online (it
  // would stay "online" forever, since its close has already been handled).
  if (conn.closed) throw new ProtocolError('server.timeout', 'the connection closed during login');
  // A client older than devices is one device per connection.
  conn.authenticated(session.user, session.token, keys!.fingerprint, peerPort, device ?? toBase64Url(randomBytes(16)));
  // Every sign-in changes presence: the user came online, or one of their devices did or moved.
  ctx.presence.add(conn);
  ctx.presence.broadcast({ event: 'presence', ...ctx.presence.info(session.user, conn.fingerprint) }, conn);
  ctx.log('info', 'online', { user: session.user, address: conn.address, port: peerPort, device: conn.device });
  // First pages only: the client asks for the rest (list_peers online, list_rooms mine), so the
  // answer does not grow with the number of users or of the user's rooms.
  const peers = onlinePage(ctx);
  const rooms = ctx.rooms.page({ limit: ctx.pageSize, viewer: session.user, mine: true });
  return {
    ...session,
    peers: peers.items.map((u) => peerInfo(ctx, u)),
    ...(peers.next !== undefined ? { peersNext: peers.next } : {}),
    rooms: rooms.items.map((s) => ctx.rooms.summary(s, session.user)),
    ...(rooms.next !== undefined ? { roomsNext: rooms.next } : {}),
    ...(ctx.mailbox ? { mailbox: ctx.mailbox.advertised } : {}),
  };
}

/** A page of the users online now, by name. */
function onlinePage(ctx: HandlerContext, after?: string) {
  return pageOf(ctx.presence.onlineUsers().sort(), (n) => n, { limit: ctx.pageSize, ...(after !== undefined ? { after } : {}) });
}

function peerInfo(ctx: HandlerContext, user: string): PeerInfo {
  const fingerprint = ctx.accounts.fingerprintOf(user) ?? ctx.presence.connectionsOf(user)[0]?.fingerprint ?? '';
  return ctx.presence.info(user, fingerprint);
}

/** The appended event goes to the room's audience; everyone else hears the room list changed. */
function announce(ctx: HandlerContext, done: Appended): void {
  // One summary for members and one for everyone else, not one per connection.
  const asMember = ctx.rooms.summary(done.state, '');
  const forMember = { ...asMember, member: true };
  const forOthers = { ...asMember, member: false };
  for (const conn of ctx.presence.allConnections()) {
    if (done.audience.has(conn.user!)) conn.sendEvent({ event: 'room_event', room: done.state.members.has(conn.user!) ? forMember : forOthers, entry: done.event });
    else conn.sendEvent({ event: 'room_listed', room: forOthers });
  }
}
