// Messages between the extension host and the sidebar webview, declared once and imported by both
// (STYLE.md: typed IPC, like GitLens's protocol.ts). Host-to-view notifications carry facts in the
// past tense; view-to-host commands are checked with a schema on arrival, because the webview
// renders other people's text and must not be able to make the host do anything unexpected.
// The host is the source of truth: on `view/ready` it sends a snapshot, then events.
//
// Requests and notifications (GitLens's IpcRequest pattern, STYLE.md §2): a view command that can
// fail carries a `requestId` and gets exactly one `request/completed` with the same id, so its
// outcome lands where it was asked (the login form, one directory row) and nowhere else. Engine
// events that belong to no request stay notifications (`notice/shown` for their errors).

import { arr, bool, int, obj, oneOf, optional, str, variants, type Infer } from './schema.ts';
import type { ClientEvents, MemberRow } from './client.ts';
import type { ConversationId } from './peer.ts';
import { SEARCH_LIMITS, emojiSchema, messageIdSchema, type ReactionCount } from './message-actions.ts';
import { MAX_TEXT_BYTES } from './text-limit.ts';

export type { ConversationId };

// ---- shared shapes ----------------------------------------------------------------------------------

/** The tracker link's state (the engine's `connection` event), plus "nobody is logged in". */
export type SessionState = 'logged_out' | ClientEvents['connection']['state'];

export interface SessionView {
  state: SessionState;
  user?: string;
  tracker: string;
  /** What is happening, in words ("reconnecting in 2 s"). */
  detail: string;
  /** The user name last signed in on this machine: the login form starts with it after a logout. */
  lastUser?: string;
}

/** A conversation in the sidebar: a room, or a direct conversation (`dm:<a>:<b>`). */
export interface RoomItem {
  key: ConversationId;
  /** Room name, or the other person's name for a direct conversation. */
  title: string;
  direct: boolean;
  private: boolean;
  unread: number;
  /** Unread messages that mention me. */
  mentions: number;
  owner?: string;
  members: number;
  forked: boolean;
}

/** A room on the tracker's directory (pushed by the tracker, kept by the engine); joined by `id`. */
export interface DirectoryRoom {
  id: string;
  name: string;
  private: boolean;
  members: number;
  online: number;
  member: boolean;
}

export interface PersonItem {
  user: string;
  online: boolean;
  verified: boolean;
  keyChanged: boolean;
}

/** A room member as the engine lists it (one row shape from the engine to the view). */
export type MemberItem = MemberRow;

/** A shared code selection, as the engine's `message` event carries it. */
export type Snippet = NonNullable<ClientEvents['message']['snippet']>;

export interface TimelineMessage {
  kind: 'message';
  id: string;
  from: string;
  text: string;
  sentAt: number;
  mine: boolean;
  /** Own messages: how many recipients acknowledged so far, of how many. */
  delivered?: { count: number; of: number };
  /** Own messages kept in the engine's outbox: the members it has not reached yet. */
  waitingFor?: string[];
  /** Own messages: members it expired undelivered to (it will not reach them; send it again). */
  notDelivered?: string[];
  /** It arrived after messages that come after it: shown where it belongs, marked late. */
  late?: boolean;
  mentionsMe: boolean;
  snippet?: Snippet;
  /** The message it answers: `from` and `excerpt` (at most QUOTE_CHARS) when that message is stored here. */
  replyTo?: QuotedMessage;
  /** Reactions, in the order first given; `mine` when I am among `users`. */
  reactions?: (ReactionCount & { mine: boolean })[];
  /** Its author changed its text. */
  edited?: boolean;
  /** Its author deleted it: shown as "message deleted", `text` empty, no snippet. */
  deleted?: boolean;
}

/** The message a reply answers, as its quote shows it. */
export interface QuotedMessage {
  id: string;
  from?: string;
  excerpt?: string;
  deleted?: boolean;
}

/**
 * How far a member has read a conversation (their read receipts): up to and including message
 * `upTo`. `mine`, when their receipt says what they had: the newest of my messages they had then
 * (null: none), so "seen by" goes no further (a message of mine that reached them later is not seen).
 */
export interface ReadMark {
  user: string;
  upTo: string;
  mine?: string | null;
}

/** A search result: `title` the conversation's title, `text` the message's text around the first match. */
export interface SearchHit {
  key: ConversationId;
  title: string;
  id: string;
  from: string;
  text: string;
  sentAt: number;
}

/**
 * A search's answer (`search/run`, the Search Messages pick): `searchedFrom` (ms) only when the
 * engine's search index is full: every message from it on was searched, older ones only in part (protocol/search-coverage.ts).
 */
export interface SearchAnswer {
  results: SearchHit[];
  searchedFrom?: number;
}

export interface TimelineNotice {
  kind: 'notice';
  id: string;
  time: number;
  text: string;
  level: 'info' | 'warning';
}

export type TimelineItem = TimelineMessage | TimelineNotice;

/** Messages of `from` in a conversation known to exist that have not arrived yet (the engine's `gap`). */
export interface GapItem {
  from: string;
  missing: number;
}

/**
 * A page of a conversation, oldest first: the answer to `history/page` (older, `before` as asked),
 * `history/newer` (`after` as asked) or `history/around` (`around` as asked: a window in which to
 * show that message). A page reaching the newest (`newer` false) ends with the host's live items.
 */
export interface HistoryPage {
  key: ConversationId;
  before?: string;
  after?: string;
  around?: string;
  items: TimelineItem[];
  /** Older messages exist before the first of `items`. */
  more: boolean;
  /** Newer messages exist after the last of `items` (`history/newer` and `history/around` only). */
  newer?: boolean;
}

export interface ViewSnapshot {
  session: SessionView;
  rooms: RoomItem[];
  directory: DirectoryRoom[];
  people: PersonItem[];
  /** The conversation shown, with its timeline and members. */
  open?: OpenedConversation;
}

/** The conversation shown: named by the host, so the view never parses a conversation id. */
export interface OpenedConversation {
  key: ConversationId;
  title: string;
  direct: boolean;
  /** The newest items loaded, oldest first (in the order of protocol/view.ts compareItems). */
  timeline: TimelineItem[];
  /** Older messages exist before the first item: the view asks for them with `history/page`. */
  more?: boolean;
  /**
   * Newer messages exist after the last item (the view jumped back to a message, `history/around`):
   * live messages are not added; the view asks for newer pages (`history/newer`) or opens the newest.
   */
  newer?: boolean;
  /** Gaps not filled yet, one per sender. */
  gaps?: GapItem[];
  members: MemberItem[];
  typing: string[];
  /** The first message I had not read when it was opened: the "New messages" line goes above it. */
  firstUnread?: string;
  /** Members' read receipts (not mine): "seen by" under the messages they have read. */
  reads?: ReadMark[];
}

/** Why a request failed, in words; `code` from protocol/errors.ts when there is one. */
export interface RequestError {
  code?: string;
  message: string;
}

// ---- NOTIFICATIONS (host -> view) -------------------------------------------------------------------

export type HostToView =
  | { type: 'host/snapshot'; snapshot: ViewSnapshot }
  | { type: 'session/changed'; session: SessionView }
  | { type: 'rooms/changed'; rooms: RoomItem[] }
  | { type: 'directory/changed'; directory: DirectoryRoom[] }
  | { type: 'people/changed'; people: PersonItem[] }
  /**
   * The open conversation changed (or was reloaded): its whole timeline and members. `reveal`: it
   * was opened at this message (a search result, a code thread's "show in chat"), which the view
   * scrolls to; its newest page shown meanwhile is not read (message/revealed follows).
   */
  | ({ type: 'conversation/opened'; reveal?: string } & OpenedConversation)
  | { type: 'timeline/added'; key: ConversationId; item: TimelineItem }
  | { type: 'message/delivered'; key: ConversationId; id: string; count: number; of: number }
  /** One of my messages waits in the outbox for these members (never empty). */
  | { type: 'message/waiting'; key: ConversationId; id: string; waitingFor: string[] }
  /** One of my messages expired undelivered to `user`. */
  | { type: 'message/expired'; key: ConversationId; id: string; user: string }
  /** The gaps of a conversation now (an empty list: all filled). */
  | { type: 'gaps/changed'; key: ConversationId; gaps: GapItem[] }
  | { type: 'members/changed'; key: ConversationId; members: MemberItem[] }
  /** A message's reactions, text (edited) or state (deleted) changed: the whole message as it is now. */
  | { type: 'message/updated'; key: ConversationId; message: TimelineMessage }
  /** The members' read receipts of a conversation now. */
  | { type: 'reads/changed'; key: ConversationId; reads: ReadMark[] }
  /**
   * Show message `id` of the open conversation `key` (a search result chosen, a code thread's
   * "show in chat"): scroll to it, asking for a window around it (`history/around`) when it is not
   * held, and mark it.
   */
  | { type: 'message/revealed'; key: ConversationId; id: string }
  | { type: 'typing/changed'; key: ConversationId; users: string[] }
  /** The one reply to a view request (`requestId` as the view sent it). */
  | { type: 'request/completed'; requestId: number; ok: boolean; error?: RequestError; page?: HistoryPage; results?: SearchHit[]; searchedFrom?: number }
  /** Something failed that no view request asked for (an engine error, a palette command); `message` says what to do. */
  | ({ type: 'notice/shown' } & RequestError)
  /**
   * Keyboard focus goes to the open conversation's composer (Focus Message Box, and after a
   * palette Join, Create, Direct Message, Share or Next Unread). Posted after the snapshot that
   * opens the conversation, so the composer it names is there.
   */
  | { type: 'focus/requested'; target: 'composer' };

export type HostToViewType = HostToView['type'];

// ---- COMMANDS (view -> host) ------------------------------------------------------------------------

/** Limits of view commands, shared so the view can refuse with words instead of being dropped here. */
export const VIEW_LIMITS = {
  trackerChars: 300,
  nameChars: 64,
  secretChars: 1024,
  /** A message's text in UTF-8 bytes: the peer wire's limit. */
  messageBytes: MAX_TEXT_BYTES,
  /** A snippet's path, in characters (as the peer wire's snippet path). */
  snippetPathChars: 1024,
  /** The highest line a snippet link asks for: peers send any integer, the view clamps to this. */
  snippetLine: 10_000_000,
} as const;

/** A conversation's key as the view and the window link name it (a room id, or `dm:` and a user). */
export const roomKey = str({ min: 1, max: 80 });
const name = str({ min: 1, max: VIEW_LIMITS.nameChars });
const secret = str({ max: VIEW_LIMITS.secretChars });

/**
 * Search results (SearchHit[]) as a window attached to the holder reads them in a `search/run`
 * answer (extension/attached-commands.ts): checked, since another local process could answer on
 * the window link's socket.
 */
export const searchHitsSchema = arr(
  obj({ key: roomKey, title: str({ max: 200 }), id: str({ min: 1, max: 64 }), from: str({ max: 64 }), text: str({ max: 4 * SEARCH_LIMITS.contextChars }), sentAt: int() }),
  { max: SEARCH_LIMITS.maxResults },
);

/** Palette commands the view may run (buttons in the view run the same command as the palette). */
export const VIEW_RUNNABLE_COMMANDS = [
  'p2pChat.login',
  'p2pChat.register',
  'p2pChat.logout',
  'p2pChat.createRoom',
  'p2pChat.joinRoom',
  'p2pChat.directMessage',
  'p2pChat.showFingerprint',
] as const;

/** Names the one `request/completed` that answers a request; the view counts up from 1. */
const requestId = int({ min: 1, max: Number.MAX_SAFE_INTEGER });

// COMMANDS carry no requestId (nothing to answer; a failure is a `notice/shown`);
// REQUESTS carry one and are answered by `request/completed`.
const viewToHostVariants = {
  /** The view (re)loaded and wants a snapshot. */
  'view/ready': obj({}),
  'command/run': obj({ command: oneOf(...VIEW_RUNNABLE_COMMANDS) }),
  'conversation/open': obj({ key: roomKey }),
  'member/verify': obj({ user: name }),
  'typing/set': obj({ key: roomKey, active: bool() }),
  /**
   * Whether the view shows the newest end of conversation `key` (scrolled to the bottom of its
   * newest page): sent when it changes (scrolls settled) and when a conversation is shown. Read
   * marks and read receipts wait for it (extension/attention.ts).
   */
  'view/atNewest': obj({ key: roomKey, atNewest: bool() }),
  /**
   * Open `path` in the receiver's workspace, if that file exists there (refusals are VS Code
   * warnings), with lines `line` to `endLine` (default `line`) selected and centred. `message`: the
   * message of conversation `key` that carries the snippet: when it has a code thread in that
   * window, the lines its thread found the code at now are opened instead.
   */
  'snippet/open': obj({
    path: str({ min: 1, max: VIEW_LIMITS.snippetPathChars }),
    line: int({ min: 1, max: VIEW_LIMITS.snippetLine }),
    endLine: optional(int({ min: 1, max: VIEW_LIMITS.snippetLine })),
    message: optional(obj({ key: roomKey, id: messageIdSchema })),
  }),
  // ---- requests
  'auth/login': obj({ requestId, tracker: str({ max: VIEW_LIMITS.trackerChars }), user: name, password: secret }),
  'auth/register': obj({ requestId, tracker: str({ max: VIEW_LIMITS.trackerChars }), user: name, password: secret }),
  'conversation/openDirect': obj({ requestId, user: name }),
  /** Joins the directory room `id` (the view never names a room by its reusable name). */
  'room/join': obj({ requestId, id: roomKey, password: optional(secret) }),
  /** `force`: leave even though my messages there reached no member yet (refused without it: room.undelivered). */
  'room/leave': obj({ requestId, key: roomKey, force: optional(bool()) }),
  /** `force`: close even though my messages there have not reached every member (refused without it: room.undelivered). */
  'room/close': obj({ requestId, key: roomKey, force: optional(bool()) }),
  'room/kick': obj({ requestId, key: roomKey, user: name }),
  /** `replyTo`: the message of `key` it answers. */
  'message/send': obj({ requestId, key: roomKey, text: str({ min: 1, max: VIEW_LIMITS.messageBytes, maxBytes: VIEW_LIMITS.messageBytes }), replyTo: optional(messageIdSchema) }),
  'message/react': obj({ requestId, key: roomKey, id: messageIdSchema, emoji: emojiSchema, on: bool() }),
  /** Only my own messages (the engine refuses others', receivers too). */
  'message/edit': obj({ requestId, key: roomKey, id: messageIdSchema, text: str({ min: 1, max: VIEW_LIMITS.messageBytes, maxBytes: VIEW_LIMITS.messageBytes }) }),
  'message/delete': obj({ requestId, key: roomKey, id: messageIdSchema }),
  /** The page of `key` before message `before` (the oldest the view holds); answered with `page`. */
  'history/page': obj({ requestId, key: roomKey, before: str({ min: 1, max: 64 }) }),
  /** The messages of `key` after message `after` (the newest a view away from the newest holds); answered with `page`. */
  'history/newer': obj({ requestId, key: roomKey, after: messageIdSchema }),
  /** A window of `key` around message `id`, to show it (a quote or search result far back); answered with `page`. */
  'history/around': obj({ requestId, key: roomKey, id: messageIdSchema }),
  /** Every conversation's history (or `key`'s) for `query`; answered with `results`, newest first, and `searchedFrom` when the index is full. */
  'search/run': obj({ requestId, query: str({ min: 1, max: SEARCH_LIMITS.queryChars }), key: optional(roomKey) }),
  /** Opens conversation `key` at message `id` (a search result): answered by `message/revealed`. */
  'search/open': obj({ key: roomKey, id: messageIdSchema }),
};
export const viewToHostSchema = variants('type', viewToHostVariants);
export type ViewToHost = Infer<typeof viewToHostSchema>;

/**
 * What another VS Code window of this machine sends to the window running the engine
 * (extension/window-link.ts): its view's messages, as they are, plus whether its view is on screen
 * and its window has the focus (a message is read when a focused window shows it at its newest:
 * extension/attention.ts). `message/send` may carry a snippet there (Share Selection in that
 * window); the webview itself never sends one.
 */
export const windowToHostSchema = variants('type', {
  ...viewToHostVariants,
  'message/send': obj({
    requestId,
    key: roomKey,
    text: str({ min: 1, max: VIEW_LIMITS.messageBytes, maxBytes: VIEW_LIMITS.messageBytes }),
    replyTo: optional(messageIdSchema),
    snippet: optional(
      obj({
        language: str({ max: 64 }),
        path: str({ max: VIEW_LIMITS.snippetPathChars }),
        startLine: int({ min: 1, max: VIEW_LIMITS.snippetLine }),
        endLine: int({ min: 1, max: VIEW_LIMITS.snippetLine }),
        code: str({ max: VIEW_LIMITS.messageBytes, maxBytes: VIEW_LIMITS.messageBytes }),
        // As the peer wire's snippet (protocol/peer.ts snippetSchema): a code thread compares whole lines line for line.
        wholeLines: optional(bool()),
      }),
    ),
  }),
  'window/visible': obj({ visible: bool() }),
  /** Whether that window has the focus (a message is read only in a focused window's view). */
  'window/focused': obj({ focused: bool() }),
});
export type WindowToHost = Infer<typeof windowToHostSchema>;

/**
 * The answer to a view message that failed its schema but names a request (a usable `requestId`):
 * a failed `request/completed` (code request.invalid), so the view does not wait on it for ever.
 * Undefined when there is no request to answer (the message is only ignored).
 */
export function invalidRequestAnswer(raw: unknown, message: string): HostToView | undefined {
  const id = (raw as { requestId?: unknown } | null)?.requestId;
  if (typeof raw !== 'object' || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return undefined;
  return { type: 'request/completed', requestId: id, ok: false, error: { code: 'request.invalid', message } };
}
export type ViewToHostType = ViewToHost['type'];
/** The view messages that are answered by `request/completed`. */
export type ViewRequest = Extract<ViewToHost, { requestId: number }>;
export type ViewRequestType = ViewRequest['type'];
/** A request as the view builds it, before it is numbered. */
export type ViewRequestParams = ViewRequest extends infer R ? (R extends ViewRequest ? Omit<R, 'requestId'> : never) : never;

// ---- timeline order and message states (the host and the view apply the same rules) -----------------

/** When an item happened: a message's signed time, a notice's local time. */
export const itemTime = (item: TimelineItem): number => (item.kind === 'message' ? item.sentAt : item.time);

/**
 * The timeline order: by time, then sender (the engine's store orders by (sentAt, from, session,
 * seq), and neither events nor pages carry session and seq). Items equal here keep the order they
 * came in: a page's order, then arrival, which for one sender is its sending order. Notices sort
 * by their time, after messages of the same millisecond.
 */
export function compareItems(a: TimelineItem, b: TimelineItem): number {
  const ta = itemTime(a);
  const tb = itemTime(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.kind !== b.kind) return a.kind === 'message' ? -1 : 1;
  const fa = a.kind === 'message' ? a.from : '';
  const fb = b.kind === 'message' ? b.from : '';
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

/** Where `item` goes in `items` (sorted by compareItems): after every item equal to it; the end is tried first. */
export function insertionIndex(items: readonly TimelineItem[], item: TimelineItem): number {
  let lo = 0;
  let hi = items.length;
  if (hi === 0 || compareItems(items[hi - 1]!, item) <= 0) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareItems(items[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A message status change from the engine, as the host posts it. */
export type MessageStatus =
  | { kind: 'delivered'; count: number; of: number }
  | { kind: 'waiting'; waitingFor: string[] }
  | { kind: 'expired'; user: string };

/** `message` with a status change applied (a new object; the input is not changed). */
export function withStatus(message: TimelineMessage, status: MessageStatus): TimelineMessage {
  const next: TimelineMessage = { ...message };
  if (status.kind === 'delivered') {
    next.delivered = { count: status.count, of: status.of };
    // Everyone has it: nobody is waited for any more.
    if (status.count >= status.of) delete next.waitingFor;
  } else if (status.kind === 'waiting') {
    next.waitingFor = [...status.waitingFor];
  } else {
    const waiting = (next.waitingFor ?? []).filter((u) => u !== status.user);
    if (waiting.length) next.waitingFor = waiting;
    else delete next.waitingFor;
    if (!(next.notDelivered ?? []).includes(status.user)) next.notDelivered = [...(next.notDelivered ?? []), status.user];
  }
  return next;
}
