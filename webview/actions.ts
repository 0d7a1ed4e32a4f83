// What the view asks of the host: the ONLY module that posts (STYLE.md §3; its part about
// messages, conversation-actions.ts, posts through `post` and `request` here). Components call
// `actions`; a request (protocol/view.ts ViewRequest) gets the next request id and is remembered
// with the place its outcome belongs to until its `request/completed` arrives (receive.ts). The
// typing outbox lives here too, and the two things that follow host notifications: reopening the
// conversation open before a hide, and ending "typing" when the open conversation changes.

import { batch, effect } from '@preact/signals';
import { VIEW_LIMITS, type ConversationId, type HostToView, type ViewRequestParams, type ViewToHost } from '../protocol/view.ts';
import { focusComposer } from './focus.ts';
import { store, type FormField, type RequestPlace, type RunnableCommand } from './state.ts';
import { newestMessageId, oldestMessageId, trimmed } from './timeline-window.ts';
import type { VsCodeApi } from './vscode-api.ts';

/** After this long without a keystroke, "typing" ends (the 3 s). */
export const TYPING_IDLE_MS = 3000;
/** A change of whether the newest messages are on screen is told this long after it began, as it is then (scrolling fires many events). */
export const AT_NEWEST_SETTLE_MS = 150;

let api: VsCodeApi | undefined;
let nextRequestId = 1;
/** The conversation open before the view was last hidden; reopened after the first snapshot. */
let restoreKey: ConversationId | undefined;
let stopWatchingOpen: (() => void) | undefined;

export function post(message: ViewToHost): void {
  if (!api) throw new Error('start() (webview/receive.ts) was not called');
  api.postMessage(message);
}

/** Posts a request and remembers where its outcome is shown. Returns its id. */
export function request(params: ViewRequestParams, place: RequestPlace): number {
  const requestId = nextRequestId++;
  store.pending.value = new Map(store.pending.value).set(requestId, { type: params.type, place });
  post({ ...params, requestId } as ViewToHost);
  return requestId;
}

/**
 * Called by receive.ts's start(): posts through `vscode` from now on, and remembers the
 * conversation to reopen. Returns a getter for it (undefined once reopened or given up).
 */
export function connect(vscode: VsCodeApi, savedOpenKey: ConversationId | undefined): () => ConversationId | undefined {
  api = vscode;
  restoreKey = savedOpenKey;
  // The open conversation changed (the host opened another, or it was left): I stopped typing there.
  stopWatchingOpen = effect(() => {
    const key = store.open.value?.key;
    if (typingKey !== undefined && typingKey !== key) setTyping(typingKey, false);
  });
  return () => restoreKey;
}

/** The view goes away: nothing it asked will be answered to it. */
export function disconnect(): void {
  stopWatchingOpen?.();
  store.pending.value = new Map();
  clearTimeout(typingTimer);
  typingTimer = undefined;
  typingKey = undefined;
  clearTimeout(atNewestTimer);
  atNewestTimer = undefined;
  atNewestSaid = atNewestNow = revealAhead = undefined;
  api = undefined;
}

// ---- what the timeline is scrolled to ------------------------------------------------------------

/** What the host was last told (view/atNewest), and what holds now. */
let atNewestSaid: { key: ConversationId; atNewest: boolean } | undefined;
let atNewestNow: { key: ConversationId; atNewest: boolean } | undefined;
let atNewestTimer: ReturnType<typeof setTimeout> | undefined;
/** A search result this view asked to open (search/open): its conversation opens at the newest, then scrolls back to it. */
let revealAhead: ConversationId | undefined;

/**
 * The view asked to open a search result in conversation `key` (its newest page shows first, then
 * the result): not at its newest meanwhile. Undefined once the host answered (message/revealed, or
 * a notice that it could not).
 */
export function expectReveal(key: ConversationId | undefined): void {
  revealAhead = key;
}

/**
 * The timeline shows the newest end of `key` (scrolled to the bottom of its newest page), or not.
 * A conversation just shown is told at once; a change while it is shown (scrolling fires many
 * events) AT_NEWEST_SETTLE_MS later, with what holds then; nothing when the host was told so
 * already. While a message of `key` is to be revealed, it is not at its newest. Read marks and
 * read receipts wait for it.
 */
export function showsNewest(key: ConversationId, atNewest: boolean): void {
  atNewestNow = { key, atNewest: atNewest && revealAhead !== key && store.reveal.value?.key !== key };
  if (atNewestTimer !== undefined) return;
  if (atNewestSaid?.key !== key) return tellAtNewest();
  if (atNewestSaid.atNewest !== atNewestNow.atNewest) atNewestTimer = setTimeout(tellAtNewest, AT_NEWEST_SETTLE_MS);
}

function tellAtNewest(): void {
  atNewestTimer = undefined;
  const now = atNewestNow;
  if (!api || !now || (atNewestSaid?.key === now.key && atNewestSaid.atNewest === now.atNewest)) return;
  atNewestSaid = now;
  post({ type: 'view/atNewest', key: now.key, atNewest: now.atNewest });
}

/** What follows a host notification, after receive.ts applied it. */
export function afterReceive(message: HostToView): void {
  if (message.type !== 'host/snapshot') return;
  // Shown again after being hidden: the host restarted or forgot; reopen what was open.
  const key = restoreKey;
  restoreKey = undefined;
  const s = message.snapshot;
  if (!s.open && key !== undefined && s.session.user && s.session.state !== 'logged_out' && s.rooms.some((r) => r.key === key)) post({ type: 'conversation/open', key });
}

// ---- typing ------------------------------------------------------------------------------------

let typingKey: ConversationId | undefined;
let typingTimer: ReturnType<typeof setTimeout> | undefined;

function setTyping(key: ConversationId, active: boolean): void {
  clearTimeout(typingTimer);
  typingTimer = undefined;
  if (active) {
    if (typingKey !== key) {
      if (typingKey !== undefined) post({ type: 'typing/set', key: typingKey, active: false });
      typingKey = key;
      post({ type: 'typing/set', key, active: true });
    }
    typingTimer = setTimeout(() => setTyping(key, false), TYPING_IDLE_MS);
  } else if (typingKey === key) {
    typingKey = undefined;
    post({ type: 'typing/set', key, active: false });
  }
}

// ---- actions -----------------------------------------------------------------------------------

const utf8 = new TextEncoder();

/** A page of `key` (older or newer) is on its way. */
function pagingIn(key: ConversationId, dir: 'older' | 'newer'): boolean {
  return [...store.pending.value.values()].some((r) => r.place.kind === 'page' && r.place.dir === dir && r.place.key === key);
}

function checkLength(value: string, max: number, field: FormField, what: string): boolean {
  if (value.length <= max) return true;
  store.loginError.value = { message: `${what} must be at most ${max} characters.`, field };
  return false;
}

export const actions = {
  /** The view (re)loaded: the host answers with a snapshot. */
  ready(): void {
    post({ type: 'view/ready' });
  },

  login(fields: { tracker: string; user: string; password: string }, register: boolean): void {
    const tracker = fields.tracker.trim();
    const user = fields.user.trim();
    const missing: [FormField, string] | undefined = !tracker
      ? ['tracker', 'Enter the tracker address (host:port).']
      : !user
        ? ['user', 'Enter your user name.']
        : !fields.password
          ? ['password', 'Enter your password.']
          : undefined;
    if (missing) {
      store.loginError.value = { message: missing[1], field: missing[0] };
      return;
    }
    if (!checkLength(tracker, VIEW_LIMITS.trackerChars, 'tracker', 'The tracker address')) return;
    if (!checkLength(user, VIEW_LIMITS.nameChars, 'user', 'The user name')) return;
    if (!checkLength(fields.password, VIEW_LIMITS.secretChars, 'password', 'The password')) return;
    batch(() => {
      store.loginError.value = undefined;
      store.loginFields.value = { tracker, user };
      request({ type: register ? 'auth/register' : 'auth/login', tracker, user, password: fields.password }, { kind: 'login' });
    });
  },

  runCommand(command: RunnableCommand): void {
    post({ type: 'command/run', command });
  },

  /** Opens `key` (or keeps it open) and puts the keyboard focus in its composer. */
  openConversation(key: ConversationId): void {
    focusComposer();
    if (store.open.value?.key === key) return;
    post({ type: 'conversation/open', key });
  },

  openDirect(user: string): void {
    request({ type: 'conversation/openDirect', user }, { kind: 'bar' });
  },

  /** Joins directory room `id`; its outcome shows in that room's row. */
  joinRoom(id: string, password?: string): void {
    if (password !== undefined && password.length > VIEW_LIMITS.secretChars) {
      store.joinErrors.value = new Map(store.joinErrors.value).set(id, `The room password must be at most ${VIEW_LIMITS.secretChars} characters.`);
      return;
    }
    batch(() => {
      const errors = new Map(store.joinErrors.value);
      errors.delete(id);
      store.joinErrors.value = errors;
      request(password !== undefined ? { type: 'room/join', id, password } : { type: 'room/join', id }, { kind: 'join', room: id });
    });
  },

  /** `force`: leave even though my messages there reached no member yet (asked after a refusal). */
  leaveRoom(key: ConversationId, force = false): void {
    store.refusedAsUndelivered.value = undefined;
    request({ type: 'room/leave', key, ...(force ? { force } : {}) }, { kind: 'forcible', key, action: 'leave' });
  },

  /** `force`: close even though my messages there have not reached every member (asked after a refusal). */
  closeRoom(key: ConversationId, force = false): void {
    store.refusedAsUndelivered.value = undefined;
    request({ type: 'room/close', key, ...(force ? { force } : {}) }, { kind: 'forcible', key, action: 'close' });
  },

  /** The user chose not to leave or close after such a refusal. */
  keepRoom(): void {
    store.refusedAsUndelivered.value = undefined;
  },

  kick(key: ConversationId, user: string): void {
    request({ type: 'room/kick', key, user }, { kind: 'bar' });
  },

  verify(user: string): void {
    post({ type: 'member/verify', user });
  },

  /**
   * Opens a snippet's file with lines `line` to `endLine` selected (the host checks the path); with
   * `messageId`, the message of the open conversation that carries it, whose code thread the host
   * opens instead when it has one.
   */
  openSnippet(path: string, line: number, endLine = line, messageId?: string): void {
    if (!path || path.length > VIEW_LIMITS.snippetPathChars) {
      store.error.value = { message: `This snippet's path is empty or longer than ${VIEW_LIMITS.snippetPathChars} characters, so it cannot be opened.` };
      return;
    }
    const bound = (n: number) => (Number.isFinite(n) ? Math.min(Math.max(1, Math.floor(n)), VIEW_LIMITS.snippetLine) : 1);
    const first = bound(line);
    const key = store.open.value?.key;
    // Within the host's bounds (a conversation key, a message id), else the link opens by its lines alone.
    const message = key && messageId && key.length <= 80 && messageId.length <= 64 ? { message: { key, id: messageId } } : {};
    post({ type: 'snippet/open', path, line: first, endLine: Math.max(first, bound(endLine)), ...message });
  },

  /** The composer's text changed: keep the draft, and tell the others I am typing (or not). */
  setDraft(key: ConversationId, text: string): void {
    const next = new Map(store.drafts.value);
    if (text) next.set(key, text);
    else next.delete(key);
    store.drafts.value = next;
    setTyping(key, text.trim().length > 0);
  },

  /** Sends the draft of `key`. Returns whether it was sent. */
  send(key: ConversationId): boolean {
    const text = store.drafts.value.get(key) ?? '';
    if (!text.trim()) return false;
    const bytes = utf8.encode(text).length;
    if (bytes > VIEW_LIMITS.messageBytes) {
      store.error.value = { message: `This message is ${Math.ceil(bytes / 1024)} KiB; the limit is ${VIEW_LIMITS.messageBytes / 1024} KiB. Shorten it or share a file instead.` };
      return false;
    }
    const reply = store.replies.value.get(key);
    if (reply?.deleted) {
      // Its original is gone: the text stays in the box until the reply is cancelled.
      store.error.value = { message: `The message you are replying to was deleted. Cancel the reply (Escape) to send this as a message.` };
      return false;
    }
    const next = new Map(store.drafts.value);
    next.delete(key);
    batch(() => {
      store.drafts.value = next;
      if (reply) {
        const replies = new Map(store.replies.value);
        replies.delete(key);
        store.replies.value = replies;
      }
    });
    setTyping(key, false);
    // Until the host says it was sent, the text is kept here: a refusal puts it back in the box.
    request(reply ? { type: 'message/send', key, text, replyTo: reply.id } : { type: 'message/send', key, text }, { kind: 'send', key, text, ...(reply ? { reply } : {}) });
    // Away from the newest (a jump back): my message goes with the newest, and so does the view.
    if (store.open.value?.key === key) actions.jumpToNewest();
    return true;
  },

  /**
   * Asks for the next page of the open conversation in `dir`: `older`, before the oldest message
   * held (scrolled to the top); `newer`, after the newest held in a window away from the newest (a
   * jump back, scrolled to the end); or the page row's button. One at a time per direction; none
   * once the host said there is no more that way, or after a failure until `retry` (Retry).
   */
  loadPage(dir: 'older' | 'newer', retry = false): void {
    const open = store.open.value;
    const error = dir === 'older' ? store.pageError : store.newerError;
    if (!(dir === 'older' ? open?.more : open?.newer) || (error.value !== undefined && !retry)) return;
    const key = open!.key;
    if (pagingIn(key, dir)) return;
    const at = dir === 'older' ? oldestMessageId(open!) : newestMessageId(open!);
    if (at === undefined) return;
    batch(() => {
      error.value = undefined;
      request(dir === 'older' ? { type: 'history/page', key, before: at } : { type: 'history/newer', key, after: at }, { kind: 'page', key, dir });
    });
  },

  /** Back to the newest messages of the open conversation (a window away from them is let go). */
  jumpToNewest(): void {
    const open = store.open.value;
    if (!open?.newer) return;
    store.toNewest.value = open.key;
    post({ type: 'conversation/open', key: open.key });
  },

  /** The timeline shows the newest window asked for by jumpToNewest, from its bottom. */
  atNewest(): void {
    store.toNewest.value = undefined;
  },

  /** Back at the bottom: far older pages are let go (they load again when scrolled to). */
  trimOlder(): void {
    // Not while older pages load to reveal a message: they would be let go before it is shown.
    const open = store.open.value;
    if (store.reveal.value && store.reveal.value.key === open?.key) return;
    const next = open && trimmed({ open, rows: store.rows.value });
    if (!next) return;
    batch(() => {
      store.open.value = next.open;
      store.rows.value = next.rows;
    });
  },

  dismissError(): void {
    store.error.value = undefined;
  },

  /** Hides a failed join's words in the row of `id`. */
  dismissJoinError(id: string): void {
    const errors = new Map(store.joinErrors.value);
    errors.delete(id);
    store.joinErrors.value = errors;
  },

  toggleSection(id: string): void {
    const next = new Set(store.collapsed.value);
    if (!next.delete(id)) next.add(id);
    store.collapsed.value = next;
  },

  setMembersOpen(value: boolean): void {
    store.membersOpen.value = value;
  },
};
