// The chat engine: one object with typed methods and typed events (protocol/client.ts), hosted
// unchanged by the terminal client and the VS Code extension. It is the composition root: the
// parts below each own their state and timers, and the engine wires them, turns each command into
// a call to the part that owns it, and re-emits what the parts report. No `vscode` import here, ever.
//
//   sign-in.ts        register, log in, resume            trust.ts          fingerprints, verify, rows
//   conversations.ts  a room reference -> Conversation    room-directory.ts rooms the tracker told of
//   room-sync.ts      logs current, heads, parked msgs    room-commands.ts  create, join, leave, kick, close
//   room-messages.ts  sessions, bundles, sends, acks      serial-inbox.ts   one peer's messages in order
//   peer-dispatch.ts  a peer's message -> its part        tracker-events.ts tracker pushes, presence table
//   signed-session.ts the parts of a signed-in session, built, quiesced and released
//   session-lifecycle.ts  a session begun, resumed, told of tracker pushes, shut down (with a grace)
//   conversation-actions.ts  replies, reactions, edits, deletes, read receipts, search

import { EventEmitter } from 'node:events';
import type { ClientEvents, CommandResults, HistoryMessage, MemberRow, PeerRow } from '../protocol/client.ts';
import { ProtocolError, isDeclaredCode } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import { dmRoom, type LinkLimits, type MessageBody } from '../protocol/peer.ts';
import type { RoomSummary } from '../protocol/tracker.ts';
import { DEFAULT_TRACKER_PORT } from '../protocol/tracker.ts';
import type { ScryptParams } from './account.ts';
import { DataFolder, type AccountStore } from './data-folder.ts';
import { RoomDirectory } from './room-directory.ts';
import * as actions from './conversation-actions.ts';
import * as signIn from './sign-in.ts';
import { SessionLifecycle } from './session-lifecycle.ts';
import type { Signed } from './signed-session.ts';
import type { FingerprintRow } from './trust.ts';
import type { PageCursor, ReadPosition } from './history.ts';
import { TrackerSession } from './tracker-session.ts';

export interface EngineOptions {
  /** Root of the data folder. */
  dataDir: string;
  /** Keep each account in `<dataDir>/<user>` (the terminal client's default folder layout). */
  perUserFolders?: boolean;
  tracker?: { host: string; port: number };
  /** Peer port to listen on; 0 picks a free one. */
  peerPort?: number;
  peerHost?: string;
  /** The port told to the tracker, when peers must reach this one through a forwarder; default the listening port. */
  advertisePort?: number;
  /** Asked for a tracker never seen before; default accepts and pins it (SSH accept-new). */
  trustTracker?: (fingerprint: string, address: string) => Promise<boolean> | boolean;
  /** Tests only: cheaper scrypt. Real clients always use SCRYPT_PARAMS. */
  scryptParams?: ScryptParams;
  backoffMs?: number[];
  now?: () => number;
  /** Where the resume token and private keys live; default the data folder (VS Code: SecretStorage). */
  accountStore?: AccountStore;
  /** Seals the state file at rest (VS Code keeps this key in SecretStorage). */
  atRestKey?: Buffer;
  /** Caps and budgets of peer-link admission; default LINK_LIMITS (protocol/peer.ts). Tests set them lower. */
  linkLimits?: Partial<LinkLimits>;
}

type EngineEvents = { [K in keyof ClientEvents]: [ClientEvents[K]] };

/** How long a leave waits for a message I just sent there to be acknowledged before refusing (ms). */
const LEAVE_WAIT_MS = 3_000;

export class ChatEngine extends EventEmitter<EngineEvents> {
  readonly data: DataFolder;
  private readonly accounts: AccountStore;
  private readonly tracker: TrackerSession;
  /** Rooms as the tracker last listed or pushed them. */
  private readonly roomDirectory = new RoomDirectory((rooms) => this.emit('directory_changed', { rooms }));
  /** The signed-in session: begun, resumed, told of tracker pushes, shut down. */
  private readonly session: SessionLifecycle;

  /** The signed-in session's parts, or undefined (test helpers reach for them by this name too). */
  private get s(): Signed | undefined {
    return this.session.current;
  }

  constructor(private readonly opts: EngineOptions) {
    super();
    this.data = new DataFolder(opts.dataDir, opts.perUserFolders ?? false, opts.atRestKey);
    this.accounts = opts.accountStore ?? this.data.accountStore();
    const tracker = opts.tracker ?? { host: '127.0.0.1', port: DEFAULT_TRACKER_PORT };
    this.tracker = new TrackerSession({
      ...tracker,
      pins: { get: (a) => this.data.trackerPin(a), set: (a, fp) => this.data.setTrackerPin(a, fp) },
      ...(opts.trustTracker ? { trustFirstUse: opts.trustTracker } : {}),
      ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
    });
    this.session = new SessionLifecycle({
      opts, data: this.data, tracker: this.tracker, now: opts.now ?? Date.now, directory: this.roomDirectory,
      emit: (name, e) => (this.emit as (n: string, e: unknown) => boolean)(name, e),
      emitError: (e) => this.emitError(e),
      report: (err, from) => this.report(err, from),
      joinedRooms: () => this.joinedRooms(),
    });
    this.tracker.on('state', (state, detail) => this.emit('connection', { state, detail }));
    this.tracker.on('event', (e) => void this.session.trackerEvent(e).catch((err) => this.report(err)));
    this.tracker.on('resumed', (s) => void this.session.resumed(s).catch((err) => this.report(err)));
    // The tracker ended this session (logged out everywhere, a password changed elsewhere, revoked):
    // this device signs out too, links and listener included, and forgets the saved session.
    this.tracker.on('ended', (why) => {
      this.emitError({ code: 'auth.bad_token', message: why });
      const user = this.s?.user;
      if (user) void this.accounts.forget(user).then(() => this.session.shutdown()).catch((err) => this.report(err));
    });
    this.tracker.on('warning', (err) => this.report(err, 'the tracker'));
  }

  get user(): string | undefined {
    return this.s?.user;
  }

  get peerPort(): number {
    return this.s?.pool.port ?? 0;
  }

  get trackerAddress(): string {
    return this.tracker.address;
  }

  get trackerFingerprint(): string | undefined {
    return this.tracker.fingerprint;
  }

  /** The pinned fingerprint of the configured tracker, if any. */
  get pinnedTrackerFingerprint(): string | undefined {
    return this.data.trackerPin(this.tracker.address);
  }

  /** "Forget Tracker Fingerprint": the next connection pins whatever the tracker presents. */
  forgetTrackerFingerprint(): void {
    this.data.setTrackerPin(this.tracker.address, undefined);
  }

  // ---- accounts (sign-in.ts) -------------------------------------------------------------------

  register(rawUser: string, password: string): Promise<void> {
    return signIn.register(this.signInParts(), rawUser, password);
  }

  async login(rawUser: string, password: string): Promise<void> {
    if (this.s) throw new ProtocolError('auth.already_authenticated', `already logged in as ${this.s.user}; log out first`);
    const { session, keys, port, freePort } = await signIn.logIn(this.signInParts(), rawUser, password);
    await this.session.begin(session, keys, port, freePort);
  }

  /** Resumes the account saved in the data folder with its token: no password. */
  async resume(rawUser?: string): Promise<boolean> {
    const signed = await signIn.resume(this.signInParts(), rawUser);
    if (!signed) return false;
    await this.session.begin(signed.session, signed.keys, signed.port, signed.freePort);
    return true;
  }

  /** Ends this device's session (`everywhere`: every device's), forgets the saved one, and stops. */
  async logout(opts: { everywhere?: boolean } = {}): Promise<void> {
    if (!this.s) return;
    const user = this.s.user;
    try {
      await this.tracker.request('logout', opts.everywhere ? { everywhere: true } : {});
    } catch {
      // Offline: the token stays valid on the tracker until it expires; it is forgotten here.
    }
    await this.accounts.forget(user);
    await this.session.shutdown();
  }

  /** Stops everything without logging out (the saved session resumes next time). */
  async close(): Promise<void> {
    await this.session.shutdown();
  }

  // ---- identity (trust.ts) ---------------------------------------------------------------------

  /** The pinned fingerprint; `changedTo` is the unacknowledged new one after a key change. Throws 'user.not_found'. */
  fingerprint(user?: string): FingerprintRow {
    return this.signed().trust.fingerprint(user);
  }

  /** The fingerprint to compare out of band, fetched and pinned unverified for a user never seen (trust.ts). */
  lookupFingerprint(rawUser?: string): Promise<FingerprintRow> {
    return this.signed().trust.lookupFingerprint(rawUser);
  }

  /** Marks a user verified after comparing `fingerprint` out of band (trust.ts verify). */
  verify(rawUser: string, fingerprint?: string): Promise<{ user: string; fingerprint: string }> {
    return this.signed().trust.verify(rawUser, fingerprint);
  }

  /** Everyone on the tracker with the key held here (trust.ts peers). */
  listPeers(): Promise<PeerRow[]> {
    return this.signed().trust.peers();
  }

  /** Every room on the tracker (all pages); the directory is replaced with the answer. */
  async listRooms(): Promise<RoomSummary[]> {
    this.signed();
    const rooms = await this.tracker.listRooms();
    this.roomDirectory.replace(rooms);
    return rooms;
  }

  /** The room directory as the tracker last told it (no request); `directory_changed` tells of changes. */
  directory(): RoomSummary[] {
    return this.roomDirectory.list();
  }

  listLinks(): { user: string; address: string; initiator: boolean }[] {
    return this.s?.pool.list() ?? [];
  }

  /** A room's members with the key held for each (trust.ts members). Throws 'room.not_found'. */
  members(roomRef: string): MemberRow[] {
    const s = this.signed();
    const { id } = s.conversations.resolve(roomRef);
    const { state } = s.rooms.get(id)!;
    return s.trust.members(state.members.keys(), state.owner);
  }

  joinedRooms(): { id: string; name: string; private: boolean; owner: string | null; members: number; forked: boolean }[] {
    const s = this.s;
    if (!s) return [];
    return s.rooms.all()
      .filter((r) => !r.state.closed && r.state.members.has(s.user))
      .map((r) => ({ id: r.id, name: r.state.name, private: r.state.private, owner: r.state.owner, members: r.state.members.size, forked: Boolean(r.forked) }));
  }

  // ---- rooms (room-commands.ts) ----------------------------------------------------------------

  createRoom(rawName: string, opts: { password?: string } = {}): Promise<{ id: string; name: string }> {
    return this.signed().commands.create(rawName, opts);
  }

  /** Joins by room id (no `list_rooms` request) or by name (one filtered `list_rooms`). */
  joinRoom(ref: string, password?: string): Promise<{ id: string; name: string; members: string[] }> {
    return this.signed().commands.join(ref, password);
  }

  /**
   * Throws 'room.undelivered' (without `force`) while my messages there reached no member yet;
   * one just sent is given LEAVE_WAIT_MS to be acknowledged first (its ack is on its way).
   */
  async leaveRoom(roomRef: string, opts: { force?: boolean } = {}): Promise<void> {
    const s = this.signed();
    if (!opts.force) {
      const { id } = s.conversations.resolve(roomRef);
      await this.settled(s, () => s.store.outbox.unreached(id) === 0);
    }
    return s.commands.leave(roomRef, opts);
  }

  /** Until `done()`, or LEAVE_WAIT_MS passed (asked at each delivery, else every 250 ms: a mailbox deposit emits nothing). */
  private async settled(s: Signed, done: () => boolean): Promise<void> {
    const deadline = Date.now() + LEAVE_WAIT_MS;
    while (!done() && Date.now() < deadline && this.s === s) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.off('delivered', wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(250, Math.max(0, deadline - Date.now())));
        this.on('delivered', wake);
      });
    }
  }

  kick(roomRef: string, rawUser: string): Promise<void> {
    return this.signed().commands.kick(roomRef, rawUser);
  }

  /**
   * Throws 'room.undelivered' (without `force`) while my messages there wait for a member; those
   * waiting only for members online are given LEAVE_WAIT_MS to be acknowledged first.
   */
  async closeRoom(roomRef: string, opts: { force?: boolean } = {}): Promise<void> {
    const s = this.signed();
    if (!opts.force) {
      const { id } = s.conversations.resolve(roomRef);
      await this.settled(s, () => !s.store.outbox.waitingIn(id, Infinity).users.some((u) => s.delivery.reachableNow(u)));
    }
    return s.commands.close(roomRef, opts);
  }

  // ---- messages (room-messages.ts) -------------------------------------------------------------

  /** Sends to a room (by name or id) or a direct conversation (`dm:<a>:<b>`, or sendDirect). */
  async sendRoom(roomRef: string, text: string, snippet?: MessageBody['snippet']): Promise<{ id: string; sentAt: number; recipients: number }> {
    const s = this.signed();
    return s.messages.send(s.conversations.resolve(roomRef), text, snippet);
  }

  sendDirect(rawUser: string, text: string): Promise<{ id: string; sentAt: number; recipients: number }> {
    const s = this.signed();
    const user = normalizeUserName(rawUser);
    if (user === s.user) throw new ProtocolError('request.invalid', 'you cannot message yourself');
    return this.sendRoom(dmRoom(s.user, user), text);
  }

  /**
   * One page of a conversation's stored history, oldest first (`room` by name or id, or `user` for
   * the direct conversation): the newest, or at most one cursor (a message id): `before` it, `after`
   * it, or `around` it (it included: a jump to it); `limit` 1..HISTORY_PAGE_MAX (default
   * HISTORY_PAGE_DEFAULT). Throws 'room.not_found', 'request.invalid' (an unknown cursor message,
   * or more than one cursor).
   */
  async history(target: { room?: string; user?: string }, opts: PageCursor & { limit?: number } = {}): Promise<CommandResults['history']> {
    const s = this.signed();
    return s.messages.history(s.conversations.target(target, (id) => s.store.history.count(id) > 0, (id) => this.roomDirectory.get(id)?.name), opts);
  }

  /**
   * The newest `limit` (1..HISTORY_PAGE_MAX) messages of a conversation (named as for `history`)
   * that carry a code snippet, oldest first, as `history` shows them, however far back: what the
   * editor's code threads are fed after a reload. Throws 'room.not_found', 'request.invalid'.
   */
  async snippetMessages(target: { room?: string; user?: string }, limit: number): Promise<HistoryMessage[]> {
    const s = this.signed();
    return s.messages.withSnippets(s.conversations.target(target, (id) => s.store.history.count(id) > 0, (id) => this.roomDirectory.get(id)?.name), limit);
  }

  // ---- conversations: replies, reactions, edits, deletes, read receipts, search (issue 12) --------
  // A `target` names a conversation as `history` does: `room` by name or id (a `dm:` id too), or
  // `user` for the direct conversation with them. Each action is a message of that conversation
  // (protocol/message-actions.ts) and reaches members away now like any message.

  /** Sends `text` answering message `to` of the conversation. Throws 'message.not_found', 'message.deleted', and what sendRoom throws. */
  reply(target: { room?: string; user?: string }, to: string, text: string): Promise<CommandResults['reply']> {
    return actions.reply(this.signed(), target, to, text);
  }

  /** Puts (`on`) or takes back my reaction `emoji` on message `messageId`. Throws 'message.not_found', 'message.deleted', 'request.invalid' (not an emoji). */
  react(target: { room?: string; user?: string }, messageId: string, emoji: string, on = true): Promise<CommandResults['react']> {
    return actions.react(this.signed(), target, messageId, emoji, on);
  }

  /** Changes the text of my message `messageId`. Throws 'message.not_found', 'message.not_author', 'message.deleted', 'message.blank', 'request.too_large'. */
  edit(target: { room?: string; user?: string }, messageId: string, text: string): Promise<CommandResults['edit']> {
    return actions.edit(this.signed(), target, messageId, text);
  }

  /** Deletes my message `messageId` for every member (and its text from this store at once). Throws 'message.not_found', 'message.not_author'. */
  deleteMessage(target: { room?: string; user?: string }, messageId: string): Promise<CommandResults['delete']> {
    return actions.deleteMessage(this.signed(), target, messageId);
  }

  /** Sends a read receipt: I have read the conversation up to and including `upTo`. Throws 'message.not_found'. */
  markRead(target: { room?: string; user?: string }, upTo: string): Promise<CommandResults['mark_read']> {
    return actions.markRead(this.signed(), target, upTo);
  }

  /**
   * Messages containing `query` (case- and accent-insensitive), newest first, at most `limit`
   * (default SEARCH_LIMITS.defaultResults): every conversation's, or `room`'s (a name, id or user).
   * Deleted messages are never found; edited ones by their latest text. Throws 'room.not_member'
   * (a room I left or never joined: it is not searched), 'room.not_found'.
   */
  search(query: string, opts: { room?: string; limit?: number } = {}): Promise<CommandResults['search']> {
    return actions.search(this.signed(), query, opts, this.nameOf, this.knownRoom);
  }

  /** One stored message of the conversation with its state (reactions, edited, deleted), or undefined (quotes, code threads). */
  message(target: { room?: string; user?: string }, id: string): HistoryMessage | undefined {
    return actions.message(this.signed(), target, id, this.nameOf);
  }

  /** Each member's read position in the conversation, mine from other devices included; `mine`: how far it counts for my messages (History.reads). */
  reads(target: { room?: string; user?: string }): ReadPosition[] {
    return actions.reads(this.signed(), target, this.nameOf);
  }

  private readonly nameOf = (id: string): string | undefined => this.roomDirectory.get(id)?.name;
  /** A room the tracker listed (kept current by its pushes), by id or normalized name. */
  private readonly knownRoom = (ref: string): { id: string; name: string } | undefined => {
    const r = this.roomDirectory.get(ref) ?? this.roomDirectory.byName(ref);
    return r && { id: r.id, name: r.name };
  };

  /** My messages not yet acknowledged by every member they were for (the outbox). */
  async outbox(): Promise<CommandResults['outbox']> {
    return { pending: this.signed().messages.pending() };
  }

  /** Ephemeral "is typing" to members with an open link; never stored. */
  typing(roomRef: string, active: boolean): void {
    const s = this.signed();
    s.messages.typing(s.conversations.resolve(roomRef), active);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private signed(): Signed {
    if (!this.s) throw new ProtocolError('auth.required', 'log in first');
    return this.s;
  }

  private signInParts(): signIn.SignInParts {
    const o = this.opts;
    return {
      tracker: this.tracker, data: this.data, accounts: this.accounts,
      ...(o.scryptParams ? { scryptParams: o.scryptParams } : {}),
      ...(o.peerPort !== undefined ? { peerPort: o.peerPort } : {}),
      ...(o.peerHost !== undefined ? { peerHost: o.peerHost } : {}),
      ...(o.advertisePort !== undefined ? { advertisePort: o.advertisePort } : {}),
    };
  }

  private report(err: unknown, from?: string): void {
    const e = err as { code?: unknown; message?: string };
    this.emitError({ code: isDeclaredCode(e?.code) ? e.code : 'internal', message: `${from ? `from ${from}: ` : ''}${e?.message ?? String(err)}` });
  }

  /** Node throws on an 'error' event nobody listens to; the engine must never throw from one. */
  private emitError(e: ClientEvents['error']): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }
}
