// The extension host's view state: conversations with unread counts, timelines, people and the
// open conversation. It listens to the engine and turns its events into view notifications
// (protocol/view.ts); the webview only ever shows what this holds, so it can close and reopen
// at any time and get the same picture back from `snapshot()`.

import type { ClientEvents } from '../protocol/client.ts';
import { isDmRoom } from '../protocol/peer.ts';
import type { DirectoryRoom, HostToView, MemberItem, PersonItem, RoomItem, SessionView, TimelineItem, TimelineMessage, ViewSnapshot } from '../protocol/view.ts';
import type { ChatEngine } from '../peer/engine.ts';
import type { HistoryStore } from './history-store.ts';

/** "bob is typing" fades if bob's client goes quiet without saying it stopped. */
const TYPING_TIMEOUT_MS = 6000;

export interface ModelHooks {
  post(message: HostToView): void;
  /** Whether the chat view is on screen (notifications only when it is not). */
  visible(): boolean;
  notify(kind: 'direct' | 'mention' | 'message', title: string, text: string, key: string): void;
  /** Which direct conversations a user has, kept across reloads. */
  directs?: { load(user: string): string[]; save(user: string, keys: string[]): void };
}

export class ChatModel {
  session: SessionView;
  readonly timelines = new Map<string, TimelineItem[]>();
  private readonly unread = new Map<string, { unread: number; mentions: number }>();
  private readonly dms = new Set<string>();
  private readonly roomNames = new Map<string, string>();
  private directory: DirectoryRoom[] = [];
  private readonly people = new Map<string, PersonItem>();
  private readonly typing = new Map<string, Map<string, NodeJS.Timeout>>();
  private engine?: ChatEngine;
  private history?: HistoryStore;
  private detach?: () => void;
  openKey?: string;

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
    const handlers: { [K in keyof ClientEvents]?: (e: ClientEvents[K]) => void } = {
      connection: (e) => this.setSession({ state: e.state === 'offline' && !engine.user ? 'logged_out' : e.state, detail: e.detail }),
      message: (e) => this.onMessage(e),
      delivered: (e) => this.onDelivered(e),
      presence: (e) => this.setPerson(e.user, { online: e.online }),
      member_joined: (e) => this.roomNotice(e.room, `${e.user} joined`, 'info'),
      member_left: (e) => this.roomNotice(e.room, `${e.user} left`, 'info'),
      member_kicked: (e) => this.roomNotice(e.room, e.user === engine.user ? `${e.by} removed you from this room` : `${e.by} removed ${e.user}`, e.user === engine.user ? 'warning' : 'info'),
      owner_changed: (e) => this.roomNotice(e.room, e.owner ? `${e.owner} owns the room now` : 'the room has no owner until someone joins', 'info'),
      room_closed: (e) => this.roomNotice(e.room, `${e.by} closed the room`, 'warning'),
      key_changed: (e) => this.onKeyChanged(e),
      room_forked: (e) => this.roomNotice(e.room, `History conflict at event ${e.seq}: ${e.detail}`, 'warning'),
      typing: (e) => this.onTyping(e),
      error: (e) => this.hooks.post({ type: 'error/shown', message: e.message, code: e.code }),
    };
    for (const [name, fn] of Object.entries(handlers)) engine.on(name as keyof ClientEvents, fn as never);
    this.detach = () => {
      for (const [name, fn] of Object.entries(handlers)) engine.off(name as keyof ClientEvents, fn as never);
    };
  }

  /** After login or resume: load history, rooms and people. */
  async signedIn(engine: ChatEngine, history: HistoryStore): Promise<void> {
    this.history = history;
    this.setSession({ state: 'online', user: engine.user!, detail: `Signed in as ${engine.user}` });
    for (const key of this.hooks.directs?.load(engine.user!) ?? []) this.dms.add(key);
    this.refreshRooms();
    for (const r of engine.joinedRooms()) this.loadHistory(r.id);
    await Promise.all([this.refreshPeople(), this.refreshDirectory()]);
    this.postSnapshot();
  }

  signedOut(detail = 'Signed out.'): void {
    this.history?.flush();
    this.history = undefined;
    this.timelines.clear();
    this.unread.clear();
    this.dms.clear();
    this.people.clear();
    this.directory = [];
    this.openKey = undefined;
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
    const open = this.openKey && this.roomItems().some((r) => r.key === this.openKey) ? this.openKey : undefined;
    return {
      session: this.session,
      rooms: this.roomItems(),
      directory: this.directory,
      people: [...this.people.values()],
      ...(open ? { open: { key: open, timeline: this.timeline(open), members: this.members(open), typing: this.typingUsers(open) } } : {}),
    };
  }

  postSnapshot(): void {
    this.hooks.post({ type: 'host/snapshot', snapshot: this.snapshot() });
  }

  openConversation(key: string): void {
    if (isDmRoom(key)) this.addDm(key);
    this.loadHistory(key);
    this.openKey = key;
    this.unread.delete(key);
    this.hooks.post({ type: 'conversation/opened', key, timeline: this.timeline(key), members: this.members(key), typing: this.typingUsers(key) });
    this.postRooms();
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
    const dms: RoomItem[] = [...this.dms].map((key) => ({
      key,
      title: key.split(':').slice(1).find((u) => u !== engine.user) ?? key,
      direct: true,
      private: true,
      ...this.counts(key),
      members: 2,
      forked: false,
    }));
    return [...rooms, ...dms];
  }

  members(key: string): MemberItem[] {
    const engine = this.engine;
    if (!engine?.user) return [];
    if (isDmRoom(key)) {
      return key.split(':').slice(1).map((user) => ({ user, owner: false, verified: this.people.get(user)?.verified ?? user === engine.user, online: user === engine.user || (this.people.get(user)?.online ?? false) }));
    }
    try {
      return engine.members(key);
    } catch {
      return [];
    }
  }

  refreshRooms(): void {
    for (const r of this.engine?.joinedRooms() ?? []) this.roomNames.set(r.name, r.id);
    this.postRooms();
  }

  async refreshDirectory(): Promise<void> {
    if (!this.engine?.user) return;
    const rooms = await this.engine.listRooms().catch(() => undefined);
    if (!rooms) return;
    this.directory = rooms.map((r) => ({ name: r.name, private: r.private, members: r.members, online: r.online, member: r.member }));
    this.hooks.post({ type: 'directory/changed', directory: this.directory });
  }

  async refreshPeople(): Promise<void> {
    const engine = this.engine;
    if (!engine?.user) return;
    const peers = await engine.listPeers().catch(() => undefined);
    if (!peers) return;
    for (const p of peers) {
      if (p.user === engine.user) continue;
      let verified = false;
      try {
        verified = engine.fingerprint(p.user).verified;
      } catch {
        // not pinned yet
      }
      this.people.set(p.user, { user: p.user, online: p.online, verified, keyChanged: this.people.get(p.user)?.keyChanged ?? false });
    }
    this.postPeople();
  }

  /** My own message, shown at once (the engine does not echo what I send). */
  addOwnMessage(key: string, message: { id: string; text: string; sentAt: number; recipients: number; snippet?: TimelineMessage['snippet'] }): void {
    if (isDmRoom(key)) this.addDm(key);
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

  totalUnread(): number {
    let n = 0;
    for (const c of this.unread.values()) n += c.unread;
    return n;
  }

  keyOfRoomName(name: string): string | undefined {
    return this.roomNames.get(name);
  }

  flush(): void {
    this.history?.flush();
  }

  // ---- engine events -----------------------------------------------------------------------------

  private onMessage(e: ClientEvents['message']): void {
    const key = e.roomId;
    if (e.direct) this.addDm(key);
    const me = this.engine!.user!;
    const mentionsMe = new RegExp(`(^|[^\\w@])@${me.replace(/[.]/g, '\\.')}\\b`, 'i').test(e.text);
    this.clearTyping(key, e.from);
    this.append(key, { kind: 'message', id: e.id, from: e.from, text: e.text, sentAt: e.sentAt, mine: false, mentionsMe, ...(e.snippet ? { snippet: e.snippet } : {}) });
    const seen = this.openKey === key && this.hooks.visible();
    if (!seen) {
      const c = this.unread.get(key) ?? { unread: 0, mentions: 0 };
      this.unread.set(key, { unread: c.unread + 1, mentions: c.mentions + (mentionsMe ? 1 : 0) });
      this.postRooms();
    }
    if (!this.hooks.visible()) {
      const kind = e.direct ? 'direct' : mentionsMe ? 'mention' : 'message';
      this.hooks.notify(kind, e.direct ? e.from : `${e.from} in #${e.room}`, e.text, key);
    }
  }

  private onDelivered(e: ClientEvents['delivered']): void {
    const key = e.room.startsWith('dm:') ? e.room : (this.roomNames.get(e.room) ?? e.room);
    const item = this.timeline(key).find((i): i is TimelineMessage => i.kind === 'message' && i.id === e.id);
    if (item) {
      item.delivered = { count: e.count, of: e.of };
      this.history?.changed(key);
    }
    this.hooks.post({ type: 'message/delivered', key, id: e.id, count: e.count, of: e.of });
  }

  private onKeyChanged(e: ClientEvents['key_changed']): void {
    this.setPerson(e.user, { keyChanged: true, verified: false });
    const text = `${e.user}'s identity key changed (${e.oldFingerprint.slice(0, 19)}… → ${e.newFingerprint.slice(0, 19)}…). Nothing is sent to ${e.user} until you compare fingerprints and run "P2P Chat: Verify Member".`;
    for (const room of e.rooms) this.roomNotice(room, text, 'warning');
    const dm = [...this.dms].find((k) => k.split(':').includes(e.user));
    if (dm) this.append(dm, this.notice(text, 'warning'));
  }

  private onTyping(e: ClientEvents['typing']): void {
    const key = e.room.startsWith('dm:') ? e.room : (this.roomNames.get(e.room) ?? e.room);
    if (e.active) {
      const users = this.typing.get(key) ?? new Map<string, NodeJS.Timeout>();
      clearTimeout(users.get(e.user));
      users.set(e.user, setTimeout(() => this.clearTyping(key, e.user), TYPING_TIMEOUT_MS));
      this.typing.set(key, users);
      this.hooks.post({ type: 'typing/changed', key, users: this.typingUsers(key) });
    } else {
      this.clearTyping(key, e.user);
    }
  }

  private clearTyping(key: string, user: string): void {
    const users = this.typing.get(key);
    if (!users?.has(user)) return;
    clearTimeout(users.get(user));
    users.delete(user);
    this.hooks.post({ type: 'typing/changed', key, users: this.typingUsers(key) });
  }

  private roomNotice(roomName: string, text: string, level: 'info' | 'warning'): void {
    const key = this.roomNames.get(roomName) ?? this.engine?.joinedRooms().find((r) => r.name === roomName)?.id;
    this.refreshRooms();
    if (!key) return;
    this.append(key, this.notice(text, level));
    if (key === this.openKey) this.hooks.post({ type: 'members/changed', key, members: this.members(key) });
    void this.refreshDirectory();
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private notice(text: string, level: 'info' | 'warning'): TimelineItem {
    const time = Date.now();
    return { kind: 'notice', id: `n-${time}-${Math.random().toString(36).slice(2, 8)}`, time, text, level };
  }

  private append(key: string, item: TimelineItem): void {
    this.loadHistory(key);
    const list = this.timelines.get(key)!;
    if (item.kind === 'message' && list.some((i) => i.kind === 'message' && i.id === item.id)) return;
    list.push(item);
    this.history?.changed(key);
    this.hooks.post({ type: 'timeline/added', key, item });
  }

  private timeline(key: string): TimelineItem[] {
    this.loadHistory(key);
    return this.timelines.get(key)!;
  }

  private loadHistory(key: string): void {
    if (!this.timelines.has(key)) this.timelines.set(key, this.history?.load(key) ?? []);
  }

  private addDm(key: string): void {
    if (this.dms.has(key)) return;
    this.dms.add(key);
    if (this.engine?.user) this.hooks.directs?.save(this.engine.user, [...this.dms]);
    this.postRooms();
  }

  private counts(key: string): { unread: number; mentions: number } {
    return this.unread.get(key) ?? { unread: 0, mentions: 0 };
  }

  private typingUsers(key: string): string[] {
    return [...(this.typing.get(key)?.keys() ?? [])];
  }

  private setPerson(user: string, patch: Partial<PersonItem>): void {
    if (user === this.engine?.user) return;
    const before = this.people.get(user) ?? { user, online: false, verified: false, keyChanged: false };
    this.people.set(user, { ...before, ...patch });
    this.postPeople();
  }

  private postRooms(): void {
    this.hooks.post({ type: 'rooms/changed', rooms: this.roomItems() });
  }

  private postPeople(): void {
    this.hooks.post({ type: 'people/changed', people: [...this.people.values()] });
  }
}
