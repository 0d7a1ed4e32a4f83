// The extension host's view state: the session, the sidebar lists (conversations with unread
// counts, people, the room directory) and the open conversation. It listens to the engine and
// turns its events into view notifications (protocol/view.ts); the webview only ever shows what
// this holds, so it can close and reopen at any time and get the same picture from `snapshot()`.
// Timelines live in extension/timelines.ts (pages from the engine's history store: history-source.ts),
// typing marks in typing.ts, read marks and receipts in read-state.ts, reactions, edits, deletes and
// quotes in message-updates.ts, people and the directory in people.ts, the sidebar's conversations
// and their titles in conversation-list.ts. Every event is placed by its `roomId`; no name is ever
// mapped back to an id (names are reused after a close).

import type { ClientEvents } from '../protocol/client.ts';
import { ProtocolError, isCoded } from '../protocol/errors.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { HistoryPage, HostToView, MemberItem, MessageStatus, OpenedConversation, RoomItem, SessionView, TimelineItem, TimelineMessage, ViewSnapshot } from '../protocol/view.ts';
import type { ChatEngine } from '../peer/engine.ts';
import { TimelineStore, type HistorySource } from './timelines.ts';
import { TypingUsers } from './typing.ts';
import { countedUnread, ReadMarks, ReceiptSender, type ReadMark } from './read-state.ts';
import { mentions } from './message-state.ts';
import { MessageUpdates, type ThreadSink } from './message-updates.ts';
import { ReadsPoster } from './reads-poster.ts';
import { codeOf, errorText, listen, notice } from './model-events.ts';
import { PeopleList } from './people.ts';
import { ConversationList, type DirectsStore } from './conversation-list.ts';
import { historyOf } from './history-source.ts';
import { looking, seesNewest, type Attention } from './attention.ts';

/** The most messages read from the store at once (peer/history.ts MAX_PAGE). */
const MAX_PAGE = 500;

export { parseReadMarks, type ReadMark } from './read-state.ts';

export interface ModelHooks {
  post(message: HostToView): void;
  /**
   * Every window's chat view as the user may see it (extension/attention.ts): a message is read
   * only while one of them shows its conversation's newest end in a focused window, and notified
   * while none is looked at. Call attentionChanged() when it changes.
   */
  attention(): readonly Attention[];
  notify(kind: 'direct' | 'mention' | 'message', title: string, text: string, key: ConversationId): void;
  /** Which direct conversations a user has, kept across reloads. */
  directs?: DirectsStore;
  /** Unread counts and the last-read position per conversation, kept across reloads (read back through parseReadMarks). */
  readMarks?: { load(user: string): unknown; save(user: string, marks: [ConversationId, ReadMark][]): void };
  /** Whether read receipts go out (the setting p2pChat.readReceipts, read at each receipt). */
  readReceipts?(): boolean;
  /** The code threads in the editor, when this window has them (extension/code-threads-feed.ts). */
  threads?(): ThreadSink | undefined;
}

export class ChatModel {
  session: SessionView;
  private readonly timelines = new TimelineStore();
  private readonly typing = new TypingUsers((key, users) => this.hooks.post({ type: 'typing/changed', key, users }));
  /** Unread counts and last-read positions, by conversation (saved through hooks.readMarks). */
  private readonly marks = new ReadMarks((marks) => {
    const user = this.engine?.user;
    if (user) this.hooks.readMarks?.save(user, marks);
  });
  /** Reactions, edits, deletes (mine too: the engine does not echo them), quotes, members' read receipts. */
  readonly updates = new MessageUpdates(this.timelines, () => this.engine, (m) => this.hooks.post(m), () => this.hooks.threads?.());
  /** My read receipts (cancel() when the setting is turned off). */
  readonly receipts = new ReceiptSender(
    (key, upTo) => this.engine!.markRead({ room: key }, upTo),
    () => Boolean(this.engine?.user) && (this.hooks.readReceipts?.() ?? true),
    (err) => this.hooks.post({ type: 'notice/shown', message: `Could not send a read receipt: ${errorText(err)}`, ...codeOf(err) }),
  );
  /** The sidebar's rooms and the direct conversations kept here (saved through hooks.directs). */
  /** Members' receipts ("seen by") of the open conversation, posted at most every READS_EVERY_MS. */
  private readonly readsPoster = new ReadsPoster((key) => this.hooks.post({ type: 'reads/changed', key, reads: this.updates.reads(key) }), () => this.shown);
  private readonly list = new ConversationList(() => this.engine, this.marks, () => this.hooks.directs);
  private readonly people = new PeopleList((m) => this.hooks.post(m));
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
      listen(engine, 'presence', (e) => this.people.set(e.user, { online: e.online }, engine.user)),
      listen(engine, 'member_joined', (e) => this.roomNotice(e.roomId, `${e.user} joined`, 'info')),
      listen(engine, 'member_left', (e) => this.roomNotice(e.roomId, `${e.user} left`, 'info')),
      listen(engine, 'member_kicked', (e) => this.roomNotice(e.roomId, e.user === engine.user ? `${e.by} removed you from this room` : `${e.by} removed ${e.user}`, e.user === engine.user ? 'warning' : 'info')),
      listen(engine, 'owner_changed', (e) => this.roomNotice(e.roomId, e.owner ? `${e.owner} owns the room now` : 'the room has no owner until someone joins', 'info')),
      listen(engine, 'room_closed', (e) => this.roomNotice(e.roomId, `${e.by} closed the room`, 'warning')),
      listen(engine, 'key_changed', (e) => this.onKeyChanged(e)),
      listen(engine, 'room_forked', (e) => this.roomNotice(e.roomId, `History conflict at event ${e.seq}: ${e.detail}`, 'warning')),
      listen(engine, 'typing', (e) => this.typing.set(e.roomId, e.user, e.active)),
      listen(engine, 'reaction', (e) => this.updates.changed(e.roomId, e.id, { t: 'reaction', user: e.user, emoji: e.emoji, on: e.on })),
      listen(engine, 'edited', (e) => this.onEdited(e.roomId, e.id, e.text)),
      listen(engine, 'deleted', (e) => this.onDeleted(e.roomId, e.id)),
      listen(engine, 'read', (e) => this.onRead(e)),
      listen(engine, 'directory_changed', (e) => void (engine.user && this.people.setDirectory(e.rooms, true))),
      listen(engine, 'error', (e) => this.hooks.post({ type: 'notice/shown', message: e.message, code: e.code })),
    ];
    this.detach = () => offs.forEach((off) => off());
  }

  /** After login or resume: rooms, people and the directory the engine already holds; history pages from its store. */
  async signedIn(engine: ChatEngine, source: HistorySource = this.historyOf(engine)): Promise<void> {
    this.timelines.use(source);
    this.setSession({ state: 'online', user: engine.user!, detail: `Signed in as ${engine.user}` });
    this.list.load(engine.user!);
    this.marks.load(this.hooks.readMarks?.load(engine.user!));
    this.updates.clear();
    this.receipts.reset();
    this.readsPoster.reset();
    this.people.setDirectory(engine.directory(), false);
    await this.refreshPeople();
    this.postSnapshot();
  }

  signedOut(detail = 'Signed out.'): void {
    this.timelines.use(undefined);
    this.typing.reset();
    this.marks.clear();
    this.updates.clear();
    this.receipts.reset();
    this.readsPoster.reset();
    this.hooks.threads?.()?.clear();
    this.list.clear();
    this.people.clear();
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
    return { session: this.session, rooms, directory: this.people.directory, people: this.people.list(), ...(open ? { open } : {}) };
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
  async openConversation(key: ConversationId, reveal?: string): Promise<void> {
    // Where I had read to, before this opening reads it all: the "New messages" line goes there.
    const mark = this.marks.get(key);
    this.shown = key;
    this.readIfSeen();
    this.postRooms();
    await this.postOpenedWhenLoaded(key, { mark, reveal });
    this.readIfSeen();
  }

  /**
   * A window's focus, its view's visibility or what its view is scrolled to changed: what the
   * open conversation shows is read now, if the user sees its newest end (its "New messages"
   * line stays where this opening put it).
   */
  attentionChanged(): void {
    if (this.readIfSeen()) this.postRooms();
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
    return this.list.nextUnread(this.openKey);
  }

  /**
   * The conversation shown is read up to its newest message, and a receipt goes for it, when the
   * user sees that newest end (the one gate: seen()). True when its unread count changed.
   */
  private readIfSeen(): boolean {
    const key = this.shown;
    if (key === undefined || !this.seen(key)) return false;
    const newest = this.newestMessage(key);
    const changed = this.marks.read(key, newest ? { id: newest.id, sentAt: newest.sentAt } : undefined);
    if (newest) this.receipts.seen(key, newest.id);
    return changed;
  }

  /** Whether the user sees the newest messages of `key`: it is shown, in a focused window's visible view, scrolled to its newest end. */
  private seen(key: ConversationId): boolean {
    return this.shown === key && this.hooks.attention().some((a) => seesNewest(a, key));
  }

  /** The page of `key` before message `before`, for the view's `history/page`. */
  async olderPage(key: ConversationId, before: string): Promise<HistoryPage> {
    const page = await this.timelines.older(key, before);
    return { key, before, items: page.items, more: page.more };
  }

  /** The messages of `key` after message `after`, for a view away from the newest (`history/newer`). */
  async newerPage(key: ConversationId, after: string): Promise<HistoryPage> {
    return { key, after, ...(await this.timelines.newer(key, after)) };
  }

  /**
   * A window of `key` around message `id`, for the view to show it (`history/around`). Throws
   * 'message.not_found' in words when this device's history does not hold it.
   */
  async aroundPage(key: ConversationId, id: string): Promise<HistoryPage> {
    try {
      return { key, around: id, ...(await this.timelines.around(key, id)) };
    } catch (err) {
      if (isCoded(err, 'request.invalid')) throw new ProtocolError('message.not_found', "That message is not in this conversation's history on this device (it may not have arrived here, or it is older than what is kept).");
      throw err;
    }
  }

  /** Lists the direct conversation `key` in the sidebar from now on (and across reloads). */
  keepDirect(key: ConversationId): void {
    if (this.list.keep(key)) this.postRooms();
  }

  /** The open conversation is gone (left, closed): show none. */
  closeConversation(key: ConversationId): void {
    if (this.openKey === key) this.shown = undefined;
    // Left, kicked or closed: its count goes with it.
    this.marks.delete(key);
    this.hooks.threads?.()?.forget(key);
    this.updates.quotes.forget(key);
    this.postSnapshot();
  }

  /** The sidebar's conversations: joined rooms, then direct ones, with unread counts; none when signed out. */
  roomItems(): RoomItem[] {
    return this.list.items();
  }

  members(key: ConversationId): MemberItem[] {
    return this.engine?.user ? this.people.members(this.engine, key) : [];
  }

  /** The sidebar's conversations changed (joined, created, left): post them. */
  postRooms(): void {
    this.hooks.post({ type: 'rooms/changed', rooms: this.roomItems() });
  }

  async refreshPeople(): Promise<void> {
    if (this.engine) await this.people.refresh(this.engine);
  }

  /** My own message, shown at once (the engine does not echo what I send). */
  addOwnMessage(key: ConversationId, message: { id: string; text: string; sentAt: number; recipients: number; snippet?: TimelineMessage['snippet']; replyTo?: string }): void {
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
      ...(message.replyTo !== undefined ? { replyTo: this.updates.quote(key, message.replyTo) } : {}),
    };
    this.append(key, item);
  }

  markVerified(user: string): void {
    this.people.set(user, { verified: true, keyChanged: false }, this.engine?.user);
    if (this.openKey) this.hooks.post({ type: 'members/changed', key: this.openKey, members: this.members(this.openKey) });
  }

  /** Unread messages in the conversations listed now (a room left keeps no count). */
  totalUnread(): number {
    return this.list.totalUnread();
  }

  // ---- engine events -----------------------------------------------------------------------------

  private onMessage(e: ClientEvents['message']): void {
    const key = e.roomId;
    if (e.direct) this.keepDirect(key);
    // Mine, sent from another device of mine: shown as mine, never unread nor notified.
    const mine = e.from === this.engine!.user;
    if (e.deleted) {
      // Deleted before it was shown here: a placeholder, never unread, never notified.
      this.append(key, { kind: 'message', id: e.id, from: e.from, text: '', sentAt: e.sentAt, mine, mentionsMe: false, deleted: true, ...(e.late ? { late: true } : {}) });
      return;
    }
    const mentionsMe = !mine && mentions(this.engine!.user!, e.text);
    const extra = { ...(e.late ? { late: true } : {}), ...(e.snippet ? { snippet: e.snippet } : {}), ...(e.replyTo !== undefined ? { replyTo: this.updates.quote(key, e.replyTo) } : {}) };
    this.append(key, { kind: 'message', id: e.id, from: e.from, text: e.text, sentAt: e.sentAt, mine, mentionsMe, ...extra });
    if (mine) return;
    this.typing.clear(key, e.from);
    if (this.seen(key)) this.readIfSeen();
    else {
      this.marks.unreadOne(key, mentionsMe, { id: e.id, sentAt: e.sentAt });
      this.postRooms();
    }
    // Nobody looks at the chat (hidden, or its window in the background): a notification.
    if (!this.hooks.attention().some(looking)) {
      const kind = e.direct ? 'direct' : mentionsMe ? 'mention' : 'message';
      this.hooks.notify(kind, e.direct ? e.from : `${e.from} in #${e.room}`, e.text, key);
    }
  }

  /**
   * Message `id` of `key` was edited to `text`: shown so; an unread one that now mentions me, or no
   * longer does, counts as a mention or stops counting.
   */
  private onEdited(key: ConversationId, id: string, text: string): void {
    const shown = this.timelines.message(key, id);
    const unread = countedUnread(this.timelines.items(key), this.marks.get(key), id);
    this.updates.changed(key, id, { t: 'edited', text });
    const now = this.timelines.message(key, id);
    if (unread && shown && now && shown.mentionsMe !== now.mentionsMe && this.marks.mentionChanged(key, now.mentionsMe, id)) this.postRooms();
  }

  /** Message `id` of `key` was deleted: shown as deleted, and no longer counted unread (nor as a mention) if it was. */
  private onDeleted(key: ConversationId, id: string): void {
    // Read before the change: the window's copy still says whether it was unread and mentioned me.
    const shown = this.timelines.message(key, id);
    const unread = countedUnread(this.timelines.items(key), this.marks.get(key), id);
    this.updates.changed(key, id, { t: 'deleted' });
    if (unread && this.marks.unreadGone(key, Boolean(shown?.mentionsMe), id)) this.postRooms();
    // Kept by arrival but not in the window (a late one older than it, or not loaded yet).
    else if (!shown && this.marks.arrivedUnread(key, id)) {
      if (this.marks.unreadGone(key, false, id)) this.postRooms();
    } else if (!shown && this.timelines.more(key)) void this.deletedBeyondWindow(key, id);
  }

  /**
   * A message older than the window held here was deleted: when it came after my read position
   * and was not mine, it was counted unread when it arrived, so it is no longer. (Whether it
   * mentioned me is gone with its text: the mention count stays within the unread count.)
   */
  private async deletedBeyondWindow(key: ConversationId, id: string): Promise<void> {
    const engine = this.engine;
    if (!engine?.user || !this.marks.get(key)?.unread) return;
    const page = await engine.history({ room: key }, { around: id, limit: 1 }).catch(() => undefined);
    const m = page?.messages[0];
    const mark = this.marks.get(key);
    const last = mark?.lastRead;
    // Every unread one is kept by arrival (and this one is not among them): it was not unread.
    if (mark?.arrived && mark.arrived.length >= mark.unread) return;
    if (!m || m.id !== id || m.from === engine.user || !last || m.sentAt <= last.sentAt) return;
    if (this.marks.unreadGone(key, false)) this.postRooms();
  }

  /** A delivery state change of my message: kept for the window, and told to the view (it may hold an older page with it). */
  private onStatus(key: ConversationId, id: string, status: MessageStatus): void {
    this.timelines.status(key, id, status);
    if (status.kind === 'delivered') this.hooks.post({ type: 'message/delivered', key, id, count: status.count, of: status.of });
    else if (status.kind === 'waiting') this.hooks.post({ type: 'message/waiting', key, id, waitingFor: status.waitingFor });
    else this.hooks.post({ type: 'message/expired', key, id, user: status.user });
  }

  /** A read receipt: a member's ("seen by"), or mine from another device (read there, read here). */
  private onRead(e: ClientEvents['read']): void {
    const key = e.roomId;
    if (e.user !== this.engine?.user) {
      // Only the open conversation shows them; another gets them when it opens.
      this.readsPoster.changed(key);
      return;
    }
    const items = this.timelines.items(key);
    if (items.some((i) => i.kind === 'message' && i.id === e.upTo)) {
      if (this.marks.readElsewhere(key, items, e.upTo, e.had)) this.postRooms();
    } else void this.readElsewhereFromStore(key, e.upTo);
  }

  /**
   * My read receipt from another device up to `upTo`, a message the window does not hold (not
   * loaded since a reload, or older than it): counted against the store's messages from it on.
   */
  private async readElsewhereFromStore(key: ConversationId, upTo: string): Promise<void> {
    const engine = this.engine;
    const user = engine?.user;
    if (!engine || !user) return;
    const [at, after] = await Promise.all([
      engine.history({ room: key }, { around: upTo, limit: 1 }).catch(() => undefined),
      engine.history({ room: key }, { after: upTo, limit: MAX_PAGE }).catch(() => undefined),
    ]);
    if (this.engine !== engine || engine.user !== user) return;
    const from = at?.messages[0]?.id === upTo ? [at.messages[0], ...(after?.messages ?? [])] : [];
    // Shaped as the window's messages: only id, order, author, deleted and mentions count here.
    const items: TimelineItem[] = from.map((m) => ({ kind: 'message', id: m.id, from: m.from, text: '', sentAt: m.sentAt, mine: m.from === user, mentionsMe: m.from !== user && mentions(user, m.text), ...(m.deleted ? { deleted: true } : {}) }));
    if (this.marks.readElsewhere(key, items, upTo)) this.postRooms();
  }

  private onKeyChanged(e: ClientEvents['key_changed']): void {
    this.people.set(e.user, { keyChanged: true, verified: false }, this.engine?.user);
    const text = `${e.user}'s identity key changed (${e.oldFingerprint.slice(0, 19)}… → ${e.newFingerprint.slice(0, 19)}…). Nothing is sent to ${e.user} until you compare fingerprints and run "P2P Chat: Verify Member".`;
    for (const key of e.roomIds) this.roomNotice(key, text, 'warning');
    const dm = this.list.directWith(e.user);
    if (dm && !e.roomIds.includes(dm)) this.append(dm, notice(text, 'warning'));
  }

  /** A room's membership or state changed: a notice in its timeline, and fresh lists. */
  private roomNotice(key: ConversationId, text: string, level: 'info' | 'warning'): void {
    this.postRooms();
    this.append(key, notice(text, level));
    if (key === this.openKey) this.hooks.post({ type: 'members/changed', key, members: this.members(key) });
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private opened(key: ConversationId): OpenedConversation {
    return {
      key,
      title: this.title(key),
      direct: isDmRoom(key),
      timeline: [...this.timelines.items(key)],
      more: this.timelines.more(key),
      gaps: this.timelines.gaps(key),
      members: this.members(key),
      typing: this.typing.users(key),
      ...(this.marks.line(key) !== undefined ? { firstUnread: this.marks.line(key) } : {}),
      reads: this.updates.reads(key),
    };
  }

  private append(key: ConversationId, item: TimelineItem): void {
    if (item.kind === 'message') item = this.updates.arrived(key, item);
    if (!this.timelines.add(key, item)) return;
    this.hooks.post({ type: 'timeline/added', key, item });
    if (item.kind === 'message') {
      this.hooks.threads?.()?.message(key, this.title(key), item);
      this.updates.added(key, item);
    }
  }

  /**
   * Posts `conversation/opened` for `key` once its newest page is read, if it is still the one
   * shown; opened by the user (`opening`: my read position before), with its "New messages" line.
   */
  private async postOpenedWhenLoaded(key: ConversationId, opening?: { mark: ReadMark | undefined; reveal?: string | undefined }): Promise<void> {
    try {
      await this.timelines.load(key);
    } catch (err) {
      if (this.shown === key) this.hooks.post({ type: 'notice/shown', message: `Could not read this conversation's history: ${errorText(err)}. Open it again to retry.`, ...codeOf(err) });
    }
    if (opening && this.shown === key) this.marks.placeLine(key, this.timelines.items(key), opening.mark);
    if (this.shown === key) this.hooks.post({ type: 'conversation/opened', ...this.opened(key), ...(opening?.reveal !== undefined ? { reveal: opening.reveal } : {}) });
  }

  /** The history pages of `engine`'s store, as the view shows them. */
  private historyOf(engine: ChatEngine): HistorySource {
    return historyOf(engine, { quote: (key, id) => this.updates.quote(key, id), threads: () => this.hooks.threads?.(), title: (key) => this.title(key) });
  }

  /** The conversation's title as the sidebar shows it (a room's name, the other person's for a direct one). */
  title(key: ConversationId): string {
    return this.list.title(key);
  }

  private newestMessage(key: ConversationId): TimelineMessage | undefined {
    const items = this.timelines.items(key);
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.kind === 'message') return item;
    }
    return undefined;
  }
}
