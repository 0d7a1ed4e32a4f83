// The engine's link to the tracker over time: first connection with the fingerprint pinned on
// first use (SSH's accept-new), then, when the link drops, reconnection with backoff and the
// resume token, never asking for the password again. It tells its user what it is doing. Lists
// come from the tracker a page at a time: listRooms, listPeers, roomLog and the login and resume
// answers follow the pages here, so callers see whole lists.

import { EventEmitter } from 'node:events';
import { ProtocolError, isCoded } from '../protocol/errors.ts';
import type { RoomEvent } from '../protocol/room-log.ts';
import {
  MAX_LIST_ENTRIES,
  type MailboxEntry,
  type MailboxItem,
  type MailboxLimits,
  type MailboxWithdrawItem,
  type PeerInfo,
  type RequestParams,
  type RoomSummary,
  type TrackerEvent,
  type TrackerRequestType,
  type TrackerResult,
} from '../protocol/tracker.ts';
import { TrackerConnection } from './tracker-connection.ts';

export type ConnectionState = 'offline' | 'connecting' | 'online' | 'reconnecting';

export interface TrackerPins {
  get(address: string): string | undefined;
  set(address: string, fingerprint: string): void;
}

export interface TrackerSessionOptions {
  host: string;
  port: number;
  pins: TrackerPins;
  /** Asked once for a tracker never seen before; false refuses it. Default: accept (accept-new). */
  trustFirstUse?: (fingerprint: string, address: string) => Promise<boolean> | boolean;
  /** Delays between reconnection attempts; the last repeats. */
  backoffMs?: number[];
  heartbeatMs?: number;
}

export type SessionResult = TrackerResult<'login'>;

type Events = {
  state: [ConnectionState, string];
  /**
   * Every push of the tracker: presence, room_event, room_listed, closing, and mailbox_dropped
   * (`{ event: 'mailbox_dropped', to, items: [{ room, sender, session, seq?, reason }] }`: items
   * I left in `to`'s mailbox were dropped unread; they are still mine to deliver or give up on).
   */
  event: [TrackerEvent];
  /** After a reconnection: the fresh session (online peers, rooms) to resync from. */
  resumed: [SessionResult];
  /** The resume token was refused (revoked or expired): the user must log in again. */
  ended: [string];
  /** The tracker sent something that was dropped (a bad frame, an unasked-for answer). */
  warning: [Error];
};

export class TrackerSession extends EventEmitter<Events> {
  private conn?: TrackerConnection;
  private token?: string;
  private peerPort = 0;
  /** This data folder's device id, sent again with every resume. */
  private device?: string;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  /** Why the last link ended, as the tracker said it (slow consumer, shutdown...) or the socket failed. */
  private lastCloseReason?: string;
  state: ConnectionState = 'offline';
  /**
   * The tracker's mailbox bounds from the last login or resume answer; undefined when it keeps no
   * mailbox (then mailboxPut and mailboxTake are refused, and messages wait in the outbox).
   */
  mailbox: MailboxLimits | undefined;

  constructor(private readonly opts: TrackerSessionOptions) {
    super();
  }

  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get fingerprint(): string | undefined {
    return this.conn?.fingerprint;
  }

  /** Connects (if not connected) and checks or pins the tracker's fingerprint. */
  async connect(): Promise<void> {
    if (this.conn && !this.conn.closed) return;
    this.stopped = false;
    this.setState('connecting', `connecting to the tracker at ${this.address}`);
    try {
      this.conn = await this.open();
    } catch (err) {
      this.setState('offline', (err as Error).message);
      throw err;
    }
  }

  async request<T extends TrackerRequestType>(type: T, params: RequestParams<T>): Promise<TrackerResult<T>> {
    if (!this.conn || this.conn.closed) {
      const why = this.lastCloseReason ? ` (${this.lastCloseReason})` : '';
      throw new ProtocolError('server.timeout', `not connected to the tracker at ${this.address}${why}${this.state === 'reconnecting' ? '; reconnecting' : ''}`);
    }
    return this.conn.request(type, params);
  }

  /** Every open room (only the caller's with `mine`, only the one called `name` with `name`), all pages. */
  async listRooms(opts: { mine?: boolean; name?: string } = {}): Promise<RoomSummary[]> {
    return collectPages('list_rooms', async (after) => {
      const { rooms, next } = await this.request('list_rooms', { ...opts, ...(after !== undefined ? { after } : {}) });
      return { items: rooms, next };
    });
  }

  /** Every user (only those online now with `online`), all pages. */
  async listPeers(opts: { online?: boolean } = {}): Promise<PeerInfo[]> {
    return collectPages('list_peers', async (after) => {
      const { peers, next } = await this.request('list_peers', { ...opts, ...(after !== undefined ? { after } : {}) });
      return { items: peers, next };
    });
  }

  /** A room's log from seq `from` to its head, all pages; `room` is the summary of the last answer. */
  async roomLog(room: string, from: number): Promise<{ room: RoomSummary; events: RoomEvent[] }> {
    const events: RoomEvent[] = [];
    for (let at = from; ; ) {
      const page = await this.request('room_log', { room, from: at });
      events.push(...page.events);
      if (page.next === undefined) return { room: page.room, events };
      if (page.next <= at || page.next !== at + page.events.length || events.length > MAX_LIST_ENTRIES) {
        throw new ProtocolError('request.invalid', `the tracker's room_log pages do not add up (from ${at}, next ${page.next}, ${page.events.length} events)`);
      }
      at = page.next;
    }
  }

  /**
   * Leaves sealed `items` (session bundles and envelopes I sent, all of one conversation with
   * `to` or of a room we are both in) in `to`'s mailbox on the tracker, all or none. At most
   * MAILBOX_MAX_ITEMS_PER_PUT items and MAILBOX_FRAME_LIMIT bytes of JSON per call. Throws
   * ProtocolError: request.unknown_type (no mailbox here), quota.exceeded (a bound: keep the
   * message in the outbox and tell the user), user.not_found, room.not_member, room.not_found,
   * room.closed, request.invalid (an item not mine, or a bundle without a key for `to`),
   * request.too_large (the items do not fit one request), server.timeout (not connected).
   */
  async mailboxPut(to: string, items: MailboxItem[]): Promise<void> {
    await this.request('mailbox_put', { to, items });
  }

  /**
   * The oldest items waiting for me (at most `limit`, default the tracker's page size), each with
   * its id and depositor (`from`, who is also its sender); `more` when others wait after them.
   * They stay until mailboxAck: check and store them first. Each `msg` is a peer message of kind
   * `session` or `envelope`, already checked against its schema; its signature, membership and
   * replay checks are the receiver's, as for anything a peer forwards.
   */
  async mailboxTake(limit?: number): Promise<{ items: MailboxEntry[]; more: boolean }> {
    return this.request('mailbox_take', limit !== undefined ? { limit } : {});
  }

  /**
   * Takes back envelopes I left in `to`'s mailbox (I deleted those messages), at most
   * MAILBOX_MAX_ITEMS_PER_WITHDRAW per call; returns how many were still there. Only my own items
   * are ever removed. Throws ProtocolError: request.unknown_type (no mailbox here: nothing to take
   * back), request.invalid (no items, too many, or malformed), server.timeout (not connected).
   */
  async mailboxWithdraw(to: string, items: MailboxWithdrawItem[]): Promise<number> {
    return (await this.request('mailbox_withdraw', { to, items })).removed;
  }

  /** Deletes my mailbox items with ids up to and including `upTo` (the last one stored). */
  async mailboxAck(upTo: number): Promise<void> {
    await this.request('mailbox_ack', { upTo });
  }

  /** Logs in or resumes on the current connection; afterwards drops are healed with the token. */
  async start(kind: 'login', params: RequestParams<'login'>): Promise<SessionResult>;
  async start(kind: 'resume', params: RequestParams<'resume'>): Promise<SessionResult>;
  async start(kind: 'login' | 'resume', params: RequestParams<'login'> | RequestParams<'resume'>): Promise<SessionResult> {
    await this.connect();
    const result = await this.completeSession(this.conn!, (await this.conn!.request(kind, params as never)) as SessionResult);
    this.token = result.token;
    this.mailbox = result.mailbox;
    this.peerPort = params.peerPort;
    this.device = params.device;
    this.setState('online', `online as ${result.user}`);
    return result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.token = undefined;
    this.mailbox = undefined;
    clearTimeout(this.retry);
    const conn = this.conn;
    this.conn = undefined;
    if (conn && !conn.closed) await conn.close();
    this.setState('offline', 'disconnected');
  }

  private async open(): Promise<TrackerConnection> {
    const address = this.address;
    const pinned = this.opts.pins.get(address);
    const conn = await TrackerConnection.connect({
      host: this.opts.host,
      port: this.opts.port,
      ...(pinned ? { expectedFingerprint: pinned } : {}),
      ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
    });
    if (!pinned) {
      const trusted = (await this.opts.trustFirstUse?.(conn.fingerprint, address)) ?? true;
      if (!trusted) {
        await conn.close();
        throw new ProtocolError('tracker.untrusted', `you did not trust the tracker at ${address} (fingerprint ${conn.fingerprint})`);
      }
      this.opts.pins.set(address, conn.fingerprint);
    }
    conn.on('event', (e) => this.emit('event', e));
    conn.on('warning', (err) => this.emit('warning', err));
    conn.once('close', (reason) => this.onClose(conn, reason));
    return conn;
  }

  /**
   * The login and resume answers hold the first page of the online users and of the user's rooms:
   * fetch the rest on the same connection, so the session the caller gets is whole.
   */
  private async completeSession(conn: TrackerConnection, result: SessionResult): Promise<SessionResult> {
    const { peersNext, roomsNext, ...session } = result;
    const peers = [...session.peers];
    const rooms = [...session.rooms];
    if (peersNext !== undefined) {
      peers.push(...(await collectPages('list_peers', async (after) => {
        const page = await conn.request('list_peers', { online: true, after: after ?? peersNext });
        return { items: page.peers, next: page.next };
      }, peersNext)));
    }
    if (roomsNext !== undefined) {
      rooms.push(...(await collectPages('list_rooms', async (after) => {
        const page = await conn.request('list_rooms', { mine: true, after: after ?? roomsNext });
        return { items: page.rooms, next: page.next };
      }, roomsNext)));
    }
    return { ...session, peers, rooms };
  }

  private onClose(conn: TrackerConnection, reason: Error | undefined): void {
    if (conn !== this.conn || this.stopped) return;
    this.conn = undefined;
    this.lastCloseReason = reason?.message;
    if (!this.token) {
      this.setState('offline', `the tracker closed the connection${reason ? `: ${reason.message}` : ''}`);
      return;
    }
    this.reconnect(0, reason?.message ?? 'connection lost');
  }

  private reconnect(attempt: number, why: string): void {
    const backoff = this.opts.backoffMs ?? [250, 500, 1000, 2000, 5000];
    const delay = backoff[Math.min(attempt, backoff.length - 1)];
    this.setState('reconnecting', `lost the tracker (${why}); reconnecting in ${Math.ceil(delay / 100) / 10} s`);
    this.retry = setTimeout(async () => {
      if (this.stopped || !this.token) return;
      try {
        this.conn = await this.open();
        const conn = this.conn;
        const result = await this.completeSession(conn, (await conn.request('resume', { token: this.token, peerPort: this.peerPort, ...(this.device ? { device: this.device } : {}) })) as SessionResult);
        this.lastCloseReason = undefined;
        this.mailbox = result.mailbox;
        this.setState('online', `back online as ${result.user}`);
        this.emit('resumed', result);
      } catch (err) {
        if (isCoded(err, 'tracker.fingerprint_mismatch')) {
          this.token = undefined;
          this.setState('offline', err.message);
          return;
        }
        if (err instanceof ProtocolError && err.code === 'auth.bad_token') {
          this.token = undefined;
          await this.conn?.close();
          this.setState('offline', 'your session ended (logged out elsewhere or revoked); log in again');
          this.emit('ended', err.message);
          return;
        }
        this.conn?.close().catch(() => {});
        this.conn = undefined;
        this.reconnect(attempt + 1, (err as Error).message);
      }
    }, delay);
  }

  private setState(state: ConnectionState, detail: string): void {
    this.state = state;
    this.emit('state', state, detail);
  }
}

/**
 * Follows a list's `next` cursors from `start` until the last page. Each cursor must move forward
 * (names sort after the last one), and the whole is bounded by MAX_LIST_ENTRIES: a tracker that
 * pages forever gets request.invalid, not the client's memory.
 */
async function collectPages<T>(what: string, fetch: (after?: string) => Promise<{ items: T[]; next?: string | undefined }>, start?: string): Promise<T[]> {
  const all: T[] = [];
  let after = start;
  for (;;) {
    const { items, next } = await fetch(after);
    all.push(...items);
    if (next === undefined) return all;
    if ((after !== undefined && next <= after) || !items.length || all.length > MAX_LIST_ENTRIES) {
      throw new ProtocolError('request.invalid', `the tracker's ${what} pages do not end (after ${JSON.stringify(after ?? '')}, next ${JSON.stringify(next.slice(0, 64))})`);
    }
    after = next;
  }
}
