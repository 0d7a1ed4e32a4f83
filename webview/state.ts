// The webview's state (STYLE.md anchors 2 and 3): source signals, derived values, and `model`,
// the read-only face components use. Only webview/receive.ts writes what the host said, and only
// webview/actions.ts posts to the host. The host is the source of truth: this mirrors its
// snapshot plus notifications, and adds what belongs to the view: drafts, collapsed sections,
// the login fields (kept across hide/show with setState), and the requests still in flight.

import { computed, signal, type ReadonlySignal } from '@preact/signals';
import type { ConversationId, DirectoryRoom, MemberItem, OpenedConversation, PersonItem, RoomItem, SearchHit, SessionView, ViewRequestType, VIEW_RUNNABLE_COMMANDS } from '../protocol/view.ts';
import { typingText, type Row } from './rows.ts';
import { seenBy } from './seen-by.ts';
import type { ViewState } from './vscode-api.ts';

export type RunnableCommand = (typeof VIEW_RUNNABLE_COMMANDS)[number];
export type FormField = 'tracker' | 'user' | 'password';
export type OpenConversation = OpenedConversation;

export interface ViewError {
  message: string;
  code?: string;
  /** A login form field the error is about, to show it next to that field. */
  field?: FormField;
}

/**
 * Where a request's outcome is shown: the login form, one directory row (a join), or the error
 * bar. A completion changes its own place only, so one request never clears another's state.
 */
/** Where a request's failure is shown. `send`: the bar, and the unsent text (and the reply it was) goes back to the message box. */
/** A leave or close the host refused as undelivered (room.undelivered), for the user to do anyway or not. */
export interface UndeliveredRefusal {
  key: ConversationId;
  action: 'leave' | 'close';
  message: string;
}

export type RequestPlace = { kind: 'login' } | { kind: 'join'; room: string } | { kind: 'bar' } | { kind: 'forcible'; key: ConversationId; action: 'leave' | 'close' } | { kind: 'send'; key: ConversationId; text: string; reply?: ReplyDraft } | { kind: 'page'; key: ConversationId; dir: 'older' | 'newer' } | { kind: 'around'; key: ConversationId; id: string } | { kind: 'search' };

/** The message my next message in a conversation answers (shown above the composer). */
export interface ReplyDraft {
  id: string;
  from: string;
  excerpt: string;
  /** The message was deleted since: the bar says so, and the reply cannot be sent. */
  deleted?: boolean;
}

/** The search box: open or not, what is typed, and the answer to the latest query only. */
export interface SearchState {
  open: boolean;
  query: string;
  /** The request whose answer is shown when it comes; older answers are ignored. */
  latest?: number;
  results: SearchHit[];
  /** The query of the request in flight. */
  asked?: string;
  /** The query `results` answer (undefined: nothing asked yet). */
  answered?: string;
  /** With that answer, when the engine's search index is full: messages sent before it (ms) were not searched. */
  searchedFrom?: number;
  error?: string;
  /** The result chosen with the arrow keys. */
  active: number;
}

/** A message to scroll to and mark (a quote clicked, a search result opened, a code thread's "show in chat"). */
export interface RevealTarget {
  key: ConversationId;
  id: string;
  /** A window around it was asked for (`history/around`): asked once. */
  asked?: boolean;
}

export interface PendingRequest {
  type: ViewRequestType;
  place: RequestPlace;
}

// ---- source state ------------------------------------------------------------------------------
// Keyed by conversation keys, room ids and user names: Maps and Sets, never plain objects, so a
// room or user called `__proto__` or `constructor` is a key like any other.

export const store = {
  ready: signal(false),
  session: signal<SessionView>({ state: 'logged_out', tracker: '', detail: '' }),
  rooms: signal<RoomItem[]>([]),
  directory: signal<DirectoryRoom[]>([]),
  people: signal<PersonItem[]>([]),
  open: signal<OpenConversation | undefined>(undefined),
  /** The open timeline as rows; kept in step with `open` by receive.ts, appending rather than rebuilding. */
  rows: signal<Row[]>([]),
  /** The error bar: failures of requests with no place of their own, and host notices. */
  error: signal<ViewError | undefined>(undefined),
  /** The login form's error (checks before sending, and the auth request's failure). */
  loginError: signal<ViewError | undefined>(undefined),
  /** Why the last older page of the open conversation failed (shown in its loading row, with Retry). */
  pageError: signal<string | undefined>(undefined),
  /** The same for the last newer page (a window away from the newest). */
  newerError: signal<string | undefined>(undefined),
  /** A failed join's words, by room id, shown in that directory row. */
  joinErrors: signal<ReadonlyMap<string, string>>(new Map()),
  /** A leave or close refused because my messages there would be lost: the room, which, and the host's words (asks to do it anyway). */
  refusedAsUndelivered: signal<UndeliveredRefusal | undefined>(undefined),
  /** Requests posted and not yet completed, by request id. */
  pending: signal<ReadonlyMap<number, PendingRequest>>(new Map()),
  drafts: signal<ReadonlyMap<ConversationId, string>>(new Map()),
  loginFields: signal<ViewState['login']>({}),
  collapsed: signal<ReadonlySet<string>>(new Set()),
  membersOpen: signal(false),
  /** Per conversation: the message being answered. */
  replies: signal<ReadonlyMap<ConversationId, ReplyDraft>>(new Map()),
  search: signal<SearchState>({ open: false, query: '', results: [], active: 0 }),
  /** Waiting to be scrolled to (loading older pages first when needed). */
  reveal: signal<RevealTarget | undefined>(undefined),
  /** The message marked briefly after it was revealed. */
  marked: signal<string | undefined>(undefined),
  /** The newest window of this conversation was asked for (Latest, after a jump back): shown from its bottom. */
  toNewest: signal<ConversationId | undefined>(undefined),
};

// ---- derived -----------------------------------------------------------------------------------

const me = computed(() => store.session.value.user);
const loggedIn = computed(() => Boolean(store.session.value.user) && store.session.value.state !== 'logged_out');
const openKey = computed(() => store.open.value?.key);
const openRoom = computed(() => {
  const key = openKey.value;
  return key === undefined ? undefined : store.rooms.value.find((r) => r.key === key);
});
const NO_MEMBERS: MemberItem[] = [];
const members = computed(() => store.open.value?.members ?? NO_MEMBERS);
const typing = computed(() => typingText((store.open.value?.typing ?? []).filter((u) => u !== me.value)));
const authPending = computed(() => [...store.pending.value.values()].some((r) => r.place.kind === 'login'));
/** A page of the open conversation is on its way: `dir` older or newer. */
const pagingOf = (dir: 'older' | 'newer') => computed(() => [...store.pending.value.values()].some((r) => r.place.kind === 'page' && r.place.dir === dir && r.place.key === openKey.value));
const paging = pagingOf('older');
const pagingNewer = pagingOf('newer');
const gaps = computed(() => store.open.value?.gaps ?? []);
/** Room ids with a join in flight. */
const joining = computed(() => new Set([...store.pending.value.values()].flatMap((r) => (r.place.kind === 'join' ? [r.place.room] : []))));

/** "Seen by": message id -> the members whose newest read message of mine it is. */
const seen = computed(() => seenBy(store.open.value, me.value));

/** What components may read. Only receive.ts and actions.ts change it. */
export const model = {
  ready: store.ready as ReadonlySignal<boolean>,
  session: store.session as ReadonlySignal<SessionView>,
  rooms: store.rooms as ReadonlySignal<RoomItem[]>,
  directory: store.directory as ReadonlySignal<DirectoryRoom[]>,
  people: store.people as ReadonlySignal<PersonItem[]>,
  open: store.open as ReadonlySignal<OpenConversation | undefined>,
  error: store.error as ReadonlySignal<ViewError | undefined>,
  loginError: store.loginError as ReadonlySignal<ViewError | undefined>,
  joinErrors: store.joinErrors as ReadonlySignal<ReadonlyMap<string, string>>,
  refusedAsUndelivered: store.refusedAsUndelivered as ReadonlySignal<UndeliveredRefusal | undefined>,
  pageError: store.pageError as ReadonlySignal<string | undefined>,
  newerError: store.newerError as ReadonlySignal<string | undefined>,
  paging,
  pagingNewer,
  gaps,
  pending: store.pending as ReadonlySignal<ReadonlyMap<number, PendingRequest>>,
  authPending,
  joining,
  drafts: store.drafts as ReadonlySignal<ReadonlyMap<ConversationId, string>>,
  loginFields: store.loginFields as ReadonlySignal<ViewState['login']>,
  collapsed: store.collapsed as ReadonlySignal<ReadonlySet<string>>,
  membersOpen: store.membersOpen as ReadonlySignal<boolean>,
  me,
  loggedIn,
  openKey,
  members,
  openRoom,
  rows: store.rows as ReadonlySignal<Row[]>,
  typing,
  replies: store.replies as ReadonlySignal<ReadonlyMap<ConversationId, ReplyDraft>>,
  search: store.search as ReadonlySignal<SearchState>,
  reveal: store.reveal as ReadonlySignal<RevealTarget | undefined>,
  marked: store.marked as ReadonlySignal<string | undefined>,
  toNewest: store.toNewest as ReadonlySignal<ConversationId | undefined>,
  seen,
};
