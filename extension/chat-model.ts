// The extension host's view state: the session, the sidebar lists (conversations with unread
// counts, people, the room directory) and the open conversation. It listens to the engine and
// turns its events into view notifications (protocol/view.ts); the webview only ever shows what
// this holds, so it can close and reopen at any time and get the same picture from `snapshot()`.
// Timelines live in extension/timelines.ts (pages from the engine's history store), typing marks
// in extension/typing.ts. Every event is placed by its `roomId`; no name is ever mapped back to an
// id (names are reused after a close).

import { HISTORY_PAGE_DEFAULT, type ClientEvents, type HistoryMessage } from '../protocol/client.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { RoomSummary } from '../protocol/tracker.ts';
import type { DirectoryRoom, HistoryPage, HostToView, MemberItem, MessageStatus, OpenedConversation, PersonItem, RoomItem, SessionView, TimelineItem, TimelineMessage, ViewSnapshot } from '../protocol/view.ts';
import type { ChatEngine } from '../peer/engine.ts';
import { TimelineStore, type HistorySource } from './timelines.ts';
import { TypingUsers } from './typing.ts';

export interface ModelHooks {
  post(message: HostToView): void;
  /** Whether the chat view is on screen (notifications only when it is not). */
  visible(): boolean;
  notify(kind: 'direct' | 'mention' | 'message', title: string, text: string, key: ConversationId): void;
  /** Which direct conversations a user has, kept across reloads. */
  directs?: { load(user: string): string[]; save(user: string, keys: string[]): void };
  /** Unread counts and the last-read position per conversation, kept across reloads (read back through parseReadMarks). */
  readMarks?: { load(user: string): unknown; save(user: string, marks: [ConversationId, ReadMark][]): void };
}

/** Where I stopped reading a conversation, and what came after it. */
export interface ReadMark {
  unread: number;
  mentions: number;
  /** The newest message seen in it (shown while the view was on screen), if any. */
  lastRead?: { id: string; sentAt: number };
}

/** At most this many conversations' marks are kept (the most recently changed). */
const MAX_READ_MARKS = 2_000;
/** An unread count read back from disk above this is damage (the badge shows "99+" long before). */
const MAX_UNREAD = 1_000_000;

/** Marks as saved: anything else (an older format, a damaged entry) is dropped, never trusted. */
export function parseReadMarks(raw: unknown): Map<ConversationId, ReadMark> {
  const marks = new Map<ConversationId, ReadMark>();
  if (!Array.isArray(raw)) return marks;
  // A count beyond what any conversation could hold is damage, not data.
  const count = (n: unknown) => (Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_UNREAD ? (n as number) : undefined);
  for (const entry of raw.slice(-MAX_READ_MARKS)) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || entry[0].length > 200 || typeof entry[1] !== 'object' || entry[1] === null) continue;
    const m = entry[1] as Record<string, unknown>;
    const unread = count(m.unread);
    const mentions = count(m.mentions);
    if (unread === undefined || mentions === undefined) continue;
    const last = m.lastRead as Record<string, unknown> | undefined;
    const lastRead = last && typeof last.id === 'string' && last.id.length <= 200 && typeof last.sentAt === 'number' && Number.isFinite(last.sentAt) ? { id: last.id, sentAt: last.sentAt } : undefined;
    marks.set(entry[0], { unread, mentions: Math.min(mentions, unread), ...(lastRead ? { lastRead } : {}) });
  }
  return marks;
}

export class ChatModel {
  session: SessionView;
  private readonly timelines = new TimelineStore();
  private readonly typing = new TypingUsers((key, users) => this.hooks.post({ type: 'typing/changed', key, users }));
  /** Unread counts and last-read positions, by conversation (saved through hooks.readMarks). */
  private readonly marks = new Map<ConversationId, ReadMark>();
  private readonly dms = new Set<ConversationId>();
  private directory: DirectoryRoom[] = [];
  private readonly people = new Map<string, PersonItem>();
  private engine?: ChatEngine;
  private detach?: () => void;
  private shown?: ConversationId;

  constructor(
    private readonly hooks: ModelHooks,
    tracker: string,
  ) {
    this.session = { state: 'logged_out', tracker, detail: 'Log in to chat with your team.' };
  }

  // ---- engine lifecycle ------------------------------------------------------------------------

  attach(engine: ChatEngine): void {
    this.detach?.();
    this.engine = engine;
    const offs = [
      listen(engine, 'connection', (e) => this.setSession({ state: e.state === 'offline' && !engine.user ? 'logged_out' : e.state, detail: e.detail })),
      listen(engine, 'message', (e) => this.onMessage(e)),
      listen(engine, 'delivered', (e) => this.onStatus(e.roomId, e.id, { kind: 'delivered', count: e.count, of: e.of })),
      listen(engine, 'waiting', (e) => this.onStatus(e.roomId, e.id, { kind: 'waiting', waitingFor: e.waitingFor })),
      listen(engine, 'expired', (e) => this.onStatus(e.roomId, e.id, { kind: 'expired', user: e.user })),
      listen(engine, 'gap', (e) => this.hooks.post({ type: 'gaps/changed', key: e.roomId, gaps: this.timelines.gap(e.roomId, e.from, e.missing) })),
      listen(engine, 'presence', (e) => this.setPerson(e.user, { online: e.online })),
      listen(engine, 'member_joined', (e) => this.roomNotice(e.roomId, `${e.user} joined`, 'info')),
      listen(engine, 'member_left', (e) => this.roomNotice(e.roomId, `${e.user} left`, 'info')),
      listen(engine, 'member_kicked', (e) => this.roomNotice(e.roomId, e.user === engine.user ? `${e.by} removed you from this room` : `${e.by} removed ${e.user}`, e.user === engine.user ? 'warning' : 'info')),
      listen(engine, 'owner_changed', (e) => this.roomNotice(e.roomId, e.owner ? `${e.owner} owns the room now` : 'the room has no owner until someone joins', 'info')),
      listen(engine, 'room_closed', (e) => this.roomNotice(e.roomId, `${e.by} closed the room`, 'warning')),
      listen(engine, 'key_changed', (e) => this.onKeyChanged(e)),
      listen(engine, 'room_forked', (e) => this.roomNotice(e.roomId, `History conflict at event ${e.seq}: ${e.detail}`, 'warning')),
      listen(engine, 'typing', (e) => this.typing.set(e.roomId, e.user, e.active)),
      listen(engine, 'directory_changed', (e) => this.setDirectory(e.rooms)),
      listen(engine, 'error', (e) => this.hooks.post({ type: 'notice/shown', message: e.message, code: e.code })),
    ];
    this.detach = () => offs.forEach((off) => off());
  }

  /** After login or resume: rooms, people and the directory the engine already holds; history pages from its store. */
  async signedIn(engine: ChatEngine, source: HistorySource = this.historyOf(engine)): Promise<void> {
    this.timelines.use(source);
    this.setSession({ state: 'online', user: engine.user!, detail: `Signed in as ${engine.user}` });
    for (const key of this.hooks.directs?.load(engine.user!) ?? []) this.dms.add(key);
    this.marks.clear();
    for (const [key, mark] of parseReadMarks(this.hooks.readMarks?.load(engine.user!))) this.marks.set(key, mark);
    this.directory = directoryRooms(engine.directory());
    await this.refreshPeople();
    this.postSnapshot();
  }

  signedOut(detail = 'Signed out.'): void {
    this.timelines.use(undefined);
    this.typing.reset();
    this.marks.clear();
    this.dms.clear();
    this.people.clear();
    this.directory = [];
    this.shown = undefined;
    this.setSession({ state: 'logged_out', user: undefined, detail });
    this.postSnapshot();
  }

  setSession(patch: Partial<SessionView>): void {
    this.session = { ...this.session, ...patch };
    if (patch.user === undefined && 'user' in patch) delete this.session.user;
    this.hooks.post({ type: 'session/changed', session: this.session });
  }

  // ---- what the view shows -----------------------------------------------------------------------

  snapshot(): ViewSnapshot {
    const rooms = this.roomItems();
    const open = this.openKey !== undefined && rooms.some((r) => r.key === this.openKey) ? this.opened(this.openKey) : undefined;
    // Not read from the store yet (a reload): the view gets it as soon as it is.
    if (open && !this.timelines.loaded(open.key)) void this.postOpenedWhenLoaded(open.key);
    return { session: this.session, rooms, directory: this.directory, people: [...this.people.values()], ...(open ? { open } : {}) };
  }

  /** The conversation the view shows (changed by openConversation and closeConversation only). */
  get openKey(): ConversationId | undefined {
    return this.shown;
  }

  postSnapshot(): void {
    this.hooks.post({ type: 'host/snapshot', snapshot: this.snapshot() });
  }

  /**
   * Shows `key` (a direct conversation must be kept with keepDirect first, or it has no title), on
   * its newest page: read from the engine's store the first time, then from memory.
   */
  async openConversation(key: ConversationId): Promise<void> {
    this.shown = key;
    this.markRead(key);
    this.postRooms();
    await this.postOpenedWhenLoaded(key);
    if (this.shown === key && this.hooks.visible()) this.markRead(key);
  }

  /** The newest message of `key` I have seen (undefined: none yet); "New messages" starts after it. */
  lastRead(key: ConversationId): { id: string; sentAt: number } | undefined {
    return this.marks.get(key)?.lastRead;
  }

  /**
   * The next conversation with unread messages after the open one, in the sidebar's order and
   * round again from the top, the open one last (it has unread messages when the view was
   * hidden); undefined when none has any.
   */
  nextUnread(): ConversationId | undefined {
    const rooms = this.roomItems();
    const at = rooms.findIndex((r) => r.key === this.openKey);
    for (let i = 1; i <= rooms.length; i++) {
      const room = rooms[(at + i + rooms.length) % rooms.length]!;
      if (room.unread > 0) return room.key;
    }
    return undefined;
  }

  /** The view shows `key` (opened, or the view came back on screen with it): all of it is read. */
  markRead(key: ConversationId): void {
    const before = this.marks.get(key);
    const newest = this.newestMessage(key);
    const lastRead = newest ? { id: newest.id, sentAt: newest.sentAt } : before?.lastRead;
    if (before && before.unread === 0 && before.lastRead?.id === lastRead?.id) return;
    this.marks.delete(key);
    this.marks.set(key, { unread: 0, mentions: 0, ...(lastRead ? { lastRead } : {}) });
    this.saveMarks();
  }

  /** The page of `key` before message `before`, for the view's `history/page`. */
  async olderPage(key: ConversationId, before: string): Promise<HistoryPage> {
    const page = await this.timelines.older(key, before);
    return { key, before, items: page.items, more: page.more };
  }

  /** Lists the direct conversation `key` in the sidebar from now on (and across reloads). */
  keepDirect(key: ConversationId): void {
    if (this.dms.has(key)) return;
    this.dms.add(key);
    if (this.engine?.user) this.hooks.directs?.save(this.engine.user, [...this.dms]);
    this.postRooms();
  }

  /** The open conversation is gone (left, closed): show none. */
  closeConversation(key: ConversationId): void {
    if (this.openKey === key) this.shown = undefined;
    // Left, kicked or closed: its count goes with it.
    if (this.marks.delete(key)) this.saveMarks();
    this.postSnapshot();
  }

  roomItems(): RoomItem[] {
    const engine = this.engine;
    if (!engine?.user) return [];
    const rooms: RoomItem[] = engine.joinedRooms().map((r) => ({
      key: r.id,
      title: r.name,
      direct: false,
      private: r.private,
      ...this.counts(r.id),
      ...(r.owner ? { owner: r.owner } : {}),
      members: r.members,
      forked: r.forked,
    }));
    const dms: RoomItem[] = [...this.dms].map((key) => ({ key, title: this.directTitle(key), direct: true, private: true, ...this.counts(key), members: 2, forked: false }));
    return [...rooms, ...dms];
  }

  members(key: ConversationId): MemberItem[] {
    const engine = this.engine;
    if (!engine?.user) return [];
    if (isDmRoom(key)) {
      return key.split(':').slice(1).map((user) => ({ user, owner: false, verified: this.people.get(user)?.verified ?? user === engine.user, online: user === engine.user || (this.people.get(user)?.online ?? false) }));
    }
    // A room this session does not hold (left a moment ago, or a stale key from a reload) has none.
    if (!engine.joinedRooms().some((r) => r.id === key)) return [];
    try {
      return engine.members(key);
    } catch (err) {
      this.hooks.post({ type: 'notice/shown', message: `Could not list the room's members: ${errorText(err)}`, ...codeOf(err) });
      return [];
    }
  }

  /** The sidebar's conversations changed (joined, created, left): post them. */
  postRooms(): void {
    this.hooks.post({ type: 'rooms/changed', rooms: this.roomItems() });
  }

  async refreshPeople(): Promise<void> {
    const engine = this.engine;
    if (!engine?.user) return;
    let peers;
    try {
      peers = await engine.listPeers();
    } catch (err) {
      this.hooks.post({ type: 'notice/shown', message: `Could not load the people on the tracker: ${errorText(err)}`, ...codeOf(err) });
      return;
    }
    for (const p of peers) {
      if (p.user === engine.user) continue;
      this.people.set(p.user, { user: p.user, online: p.online, verified: p.verified, keyChanged: this.people.get(p.user)?.keyChanged ?? false });
    }
    this.postPeople();
  }

  /** My own message, shown at once (the engine does not echo what I send). */
  addOwnMessage(key: ConversationId, message: { id: string; text: string; sentAt: number; recipients: number; snippet?: TimelineMessage['snippet'] }): void {
    const item: TimelineMessage = {
      kind: 'message',
      id: message.id,
      from: this.engine!.user!,
      text: message.text,
      sentAt: message.sentAt,
      mine: true,
      delivered: { count: 0, of: message.recipients },
      mentionsMe: false,
      ...(message.snippet ? { snippet: message.snippet } : {}),
    };
    this.append(key, item);
  }

  markVerified(user: string): void {
    this.setPerson(user, { verified: true, keyChanged: false });
    if (this.openKey) this.hooks.post({ type: 'members/changed', key: this.openKey, members: this.members(this.openKey) });
  }

  /** Unread messages in the conversations listed now (a room left keeps no count). */
  totalUnread(): number {
    let n = 0;
    for (const item of this.roomItems()) n += item.unread;
    return n;
  }

  // ---- engine events -----------------------------------------------------------------------------

  private onMessage(e: ClientEvents['message']): void {
    const key = e.roomId;
    if (e.direct) this.keepDirect(key);
    // Mine, sent from another device of mine: shown as mine, never unread nor notified.
    if (e.from === this.engine!.user) {
      this.append(key, { kind: 'message', id: e.id, from: e.from, text: e.text, sentAt: e.sentAt, mine: true, mentionsMe: false, ...(e.late ? { late: true } : {}), ...(e.snippet ? { snippet: e.snippet } : {}) });
      return;
    }
    const mentionsMe = mentions(this.engine!.user!, e.text);
    this.typing.clear(key, e.from);
    this.append(key, { kind: 'message', id: e.id, from: e.from, text: e.text, sentAt: e.sentAt, mine: false, mentionsMe, ...(e.late ? { late: true } : {}), ...(e.snippet ? { snippet: e.snippet } : {}) });
    const seen = this.openKey === key && this.hooks.visible();
    if (seen) this.markRead(key);
    else {
      const c = this.marks.get(key) ?? { unread: 0, mentions: 0 };
      this.marks.delete(key);
      this.marks.set(key, { ...c, unread: c.unread + 1, mentions: c.mentions + (mentionsMe ? 1 : 0) });
      this.saveMarks();
      this.postRooms();
    }
    if (!this.hooks.visible()) {
      const kind = e.direct ? 'direct' : mentionsMe ? 'mention' : 'message';
      this.hooks.notify(kind, e.direct ? e.from : `${e.from} in #${e.room}`, e.text, key);
    }
  }

  /** A delivery state change of my message: kept for the window, and told to the view (it may hold an older page with it). */
  private onStatus(key: ConversationId, id: string, status: MessageStatus): void {
    this.timelines.status(key, id, status);
    if (status.kind === 'delivered') this.hooks.post({ type: 'message/delivered', key, id, count: status.count, of: status.of });
    else if (status.kind === 'waiting') this.hooks.post({ type: 'message/waiting', key, id, waitingFor: status.waitingFor });
    else this.hooks.post({ type: 'message/expired', key, id, user: status.user });
  }

  private onKeyChanged(e: ClientEvents['key_changed']): void {
    this.setPerson(e.user, { keyChanged: true, verified: false });
    const text = `${e.user}'s identity key changed (${e.oldFingerprint.slice(0, 19)}… → ${e.newFingerprint.slice(0, 19)}…). Nothing is sent to ${e.user} until you compare fingerprints and run "P2P Chat: Verify Member".`;
    for (const key of e.roomIds) this.roomNotice(key, text, 'warning');
    const dm = [...this.dms].find((k) => k.split(':').slice(1).includes(e.user));
    if (dm && !e.roomIds.includes(dm)) this.append(dm, notice(text, 'warning'));
  }

  /** A room's membership or state changed: a notice in its timeline, and fresh lists. */
  private roomNotice(key: ConversationId, text: string, level: 'info' | 'warning'): void {
    this.postRooms();
    this.append(key, notice(text, level));
    if (key === this.openKey) this.hooks.post({ type: 'members/changed', key, members: this.members(key) });
  }

  private setDirectory(rooms: RoomSummary[]): void {
    if (!this.engine?.user) return;
    this.directory = directoryRooms(rooms);
    this.hooks.post({ type: 'directory/changed', directory: this.directory });
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private opened(key: ConversationId): OpenedConversation {
    const room = isDmRoom(key) ? undefined : this.engine?.joinedRooms().find((r) => r.id === key);
    return {
      key,
      title: room?.name ?? (isDmRoom(key) ? this.directTitle(key) : key),
      direct: isDmRoom(key),
      timeline: [...this.timelines.items(key)],
      more: this.timelines.more(key),
      gaps: this.timelines.gaps(key),
      members: this.members(key),
      typing: this.typing.users(key),
    };
  }

  private append(key: ConversationId, item: TimelineItem): void {
    if (this.timelines.add(key, item)) this.hooks.post({ type: 'timeline/added', key, item });
  }

  /** Posts `conversation/opened` for `key` once its newest page is read, if it is still the one shown. */
  private async postOpenedWhenLoaded(key: ConversationId): Promise<void> {
    try {
      await this.timelines.load(key);
    } catch (err) {
      if (this.shown === key) this.hooks.post({ type: 'notice/shown', message: `Could not read this conversation's history: ${errorText(err)}. Open it again to retry.`, ...codeOf(err) });
    }
    if (this.shown === key) this.hooks.post({ type: 'conversation/opened', ...this.opened(key) });
  }

  /** Pages of the engine's store (one store for the terminal client and VS Code), as the view shows them. */
  private historyOf(engine: ChatEngine): HistorySource {
    return {
      page: async (key, before) => {
        const page = await engine.history({ room: key }, { limit: HISTORY_PAGE_DEFAULT, ...(before !== undefined ? { before } : {}) });
        const me = engine.user!;
        return { items: page.messages.map((m) => fromHistory(m, me)), more: page.more, ...(page.gaps ? { gaps: page.gaps } : {}) };
      },
    };
  }

  private directTitle(key: ConversationId): string {
    return key.split(':').slice(1).find((u) => u !== this.engine?.user) ?? key;
  }

  private counts(key: ConversationId): { unread: number; mentions: number } {
    const mark = this.marks.get(key);
    return { unread: mark?.unread ?? 0, mentions: mark?.mentions ?? 0 };
  }

  private newestMessage(key: ConversationId): TimelineMessage | undefined {
    const items = this.timelines.items(key);
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.kind === 'message') return item;
    }
    return undefined;
  }

  private saveMarks(): void {
    const user = this.engine?.user;
    if (!user || !this.hooks.readMarks) return;
    // Map order is insertion order: the most recently changed are last, and kept when trimmed.
    this.hooks.readMarks.save(user, [...this.marks].slice(-MAX_READ_MARKS));
  }

  private setPerson(user: string, patch: Partial<PersonItem>): void {
    if (user === this.engine?.user) return;
    const before = this.people.get(user) ?? { user, online: false, verified: false, keyChanged: false };
    this.people.set(user, { ...before, ...patch });
    this.postPeople();
  }

  private postPeople(): void {
    this.hooks.post({ type: 'people/changed', people: [...this.people.values()] });
  }
}

/** Subscribes `fn` to the engine's `name` events; returns the unsubscribe. */
function listen<K extends keyof ClientEvents>(engine: ChatEngine, name: K, fn: (e: ClientEvents[K]) => void): () => void {
  // Node's EventEmitter<T> types listeners through a conditional type that TypeScript cannot
  // resolve for a generic K; the call sites above are checked against ClientEvents instead.
  const listener = fn as never;
  engine.on(name, listener);
  return () => void engine.off(name, listener);
}

/** The directory as the view lists it: open rooms only. */
function directoryRooms(rooms: RoomSummary[]): DirectoryRoom[] {
  return rooms.filter((r) => !r.closed).map((r) => ({ id: r.id, name: r.name, private: r.private, members: r.members, online: r.online, member: r.member }));
}

/** Whether `text` mentions `me` (@me, not inside a word or another mention). */
function mentions(me: string, text: string): boolean {
  return new RegExp(`(^|[^\\w@])@${me.replace(/[.]/g, '\\.')}\\b`, 'i').test(text);
}

/** A stored message as the timeline shows it; my own carry whom they still wait for. */
function fromHistory(m: HistoryMessage, me: string): TimelineMessage {
  const mine = m.from === me;
  return {
    kind: 'message',
    id: m.id,
    from: m.from,
    text: m.text,
    sentAt: m.sentAt,
    mine,
    mentionsMe: !mine && mentions(me, m.text),
    ...(m.late ? { late: true } : {}),
    ...(mine && m.waitingFor?.length ? { waitingFor: [...m.waitingFor] } : {}),
    ...(mine && m.notDelivered?.length ? { notDelivered: [...m.notDelivered] } : {}),
    ...(m.snippet ? { snippet: m.snippet } : {}),
  };
}

function notice(text: string, level: 'info' | 'warning'): TimelineItem {
  const time = Date.now();
  return { kind: 'notice', id: `n-${time}-${Math.random().toString(36).slice(2, 8)}`, time, text, level };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? { code } : {};
}
