// The webview's state, and the ONLY place that receives host notifications (STYLE.md anchors 2
// and 3). Source state is signals, derived values are computed; components read them and call
// the actions below, and only actions post to the host. The host is the source of truth: this
// mirrors its snapshot plus events, and adds only what belongs to the view (drafts, which
// sections are collapsed, the login fields), kept across hide/show with setState.

import { batch, computed, effect, signal, type ReadonlySignal } from '@preact/signals';
import {
  VIEW_LIMITS,
  type DirectoryRoom,
  type HostToView,
  type MemberItem,
  type PersonItem,
  type RoomItem,
  type SessionView,
  type TimelineItem,
  type VIEW_RUNNABLE_COMMANDS,
  type ViewToHost,
} from '../protocol/view.ts';
import { appendRows, buildRows, replaceMessage, typingText, type Row } from './rows.ts';
import { readPersisted, toPersisted, type ViewState, type VsCodeApi } from './vscode-api.ts';

/** After this long without a keystroke, "typing" ends (the 3 s). */
export const TYPING_IDLE_MS = 3000;

export type RunnableCommand = (typeof VIEW_RUNNABLE_COMMANDS)[number];
export type FormField = 'tracker' | 'user' | 'password';

export interface ViewError {
  message: string;
  code?: string;
  /** A login form field the error is about, to show it next to that field. */
  field?: FormField;
}

export interface OpenConversation {
  key: string;
  timeline: TimelineItem[];
  members: MemberItem[];
  typing: string[];
}

// ---- source state ------------------------------------------------------------------------------

const ready = signal(false);
const session = signal<SessionView>({ state: 'logged_out', tracker: '', detail: '' });
const rooms = signal<RoomItem[]>([]);
const directory = signal<DirectoryRoom[]>([]);
const people = signal<PersonItem[]>([]);
const open = signal<OpenConversation | undefined>(undefined);
const error = signal<ViewError | undefined>(undefined);
const authPending = signal(false);
// Keyed by conversation keys and section ids (room ids, user names): Maps and Sets, never plain
// objects, so a room or user called `__proto__` or `constructor` is a key like any other.
const drafts = signal<ReadonlyMap<string, string>>(new Map());
const loginFields = signal<ViewState['login']>({});
const collapsed = signal<ReadonlySet<string>>(new Set());
const membersOpen = signal(false);
/** Bumped when the host asks for the composer to take the focus. */
const composerFocus = signal(0);

// ---- derived -----------------------------------------------------------------------------------

const me = computed(() => session.value.user);
const loggedIn = computed(() => Boolean(session.value.user) && session.value.state !== 'logged_out');
const openKey = computed(() => open.value?.key);
const openRoom = computed(() => {
  const key = openKey.value;
  return key === undefined ? undefined : rooms.value.find((r) => r.key === key);
});
const NO_MEMBERS: MemberItem[] = [];
const members = computed(() => open.value?.members ?? NO_MEMBERS);
/** The open timeline as rows; kept in step with `open` by receive(), appending rather than rebuilding. */
const rows = signal<Row[]>([]);
const typing = computed(() => typingText((open.value?.typing ?? []).filter((u) => u !== me.value)));

/** What components may read. Only actions (below) change it. */
export const model = {
  ready: ready as ReadonlySignal<boolean>,
  session: session as ReadonlySignal<SessionView>,
  rooms: rooms as ReadonlySignal<RoomItem[]>,
  directory: directory as ReadonlySignal<DirectoryRoom[]>,
  people: people as ReadonlySignal<PersonItem[]>,
  open: open as ReadonlySignal<OpenConversation | undefined>,
  error: error as ReadonlySignal<ViewError | undefined>,
  authPending: authPending as ReadonlySignal<boolean>,
  drafts: drafts as ReadonlySignal<ReadonlyMap<string, string>>,
  loginFields: loginFields as ReadonlySignal<ViewState['login']>,
  collapsed: collapsed as ReadonlySignal<ReadonlySet<string>>,
  membersOpen: membersOpen as ReadonlySignal<boolean>,
  composerFocus: composerFocus as ReadonlySignal<number>,
  me,
  loggedIn,
  openKey,
  members,
  openRoom,
  rows: rows as ReadonlySignal<Row[]>,
  typing,
};

// ---- host notifications ------------------------------------------------------------------------

let api: VsCodeApi | undefined;
/** The conversation open before the view was last hidden; reopened after the first snapshot. */
let restoreKey: string | undefined;

function post(message: ViewToHost): void {
  if (!api) throw new Error('state.start() was not called');
  api.postMessage(message);
}

function setOpen(next: OpenConversation | undefined): void {
  if (typingKey !== undefined && typingKey !== next?.key) setTyping(typingKey, false);
  batch(() => {
    open.value = next;
    rows.value = buildRows(next?.timeline ?? []);
  });
}

/** Applies one host notification. Exhaustive: a new HostToView type fails to compile here. */
export function receive(message: HostToView): void {
  switch (message.type) {
    case 'host/snapshot': {
      const s = message.snapshot;
      batch(() => {
        session.value = s.session;
        rooms.value = s.rooms;
        directory.value = s.directory;
        people.value = s.people;
        setOpen(s.open ? { ...s.open } : undefined);
        authPending.value = false;
        if (loggedIn.value && error.value?.field) error.value = undefined;
        ready.value = true;
      });
      // Shown again after being hidden: the host restarted or forgot; reopen what was open.
      const key = restoreKey;
      restoreKey = undefined;
      if (!s.open && key !== undefined && loggedIn.value && s.rooms.some((r) => r.key === key)) post({ type: 'conversation/open', key });
      return;
    }
    case 'session/changed':
      batch(() => {
        session.value = message.session;
        if (message.session.state === 'online') {
          authPending.value = false;
          if (error.value?.field) error.value = undefined;
        }
      });
      return;
    case 'rooms/changed':
      rooms.value = message.rooms;
      return;
    case 'directory/changed':
      directory.value = message.directory;
      return;
    case 'people/changed':
      people.value = message.people;
      return;
    case 'conversation/opened':
      setOpen({ key: message.key, timeline: message.timeline, members: message.members, typing: message.typing });
      return;
    case 'timeline/added': {
      const o = open.value;
      if (o?.key !== message.key) return;
      batch(() => {
        open.value = { ...o, timeline: [...o.timeline, message.item] };
        rows.value = appendRows(rows.value, o.timeline, [message.item]);
      });
      return;
    }
    case 'message/delivered': {
      const o = open.value;
      if (o?.key !== message.key) return;
      // Recent messages are acknowledged, so look from the end.
      for (let i = o.timeline.length - 1; i >= 0; i--) {
        const item = o.timeline[i]!;
        if (item.kind !== 'message' || item.id !== message.id) continue;
        const timeline = o.timeline.slice();
        const updated = { ...item, delivered: { count: message.count, of: message.of } };
        timeline[i] = updated;
        batch(() => {
          open.value = { ...o, timeline };
          rows.value = replaceMessage(rows.value, updated);
        });
        return;
      }
      return;
    }
    case 'members/changed': {
      const o = open.value;
      if (o?.key === message.key) open.value = { ...o, members: message.members };
      return;
    }
    case 'typing/changed': {
      const o = open.value;
      if (o?.key === message.key) open.value = { ...o, typing: message.users };
      return;
    }
    case 'error/shown':
      batch(() => {
        authPending.value = false;
        error.value = { message: message.message, ...(message.code ? { code: message.code } : {}) };
      });
      return;
    case 'composer/focused': {
      const key = open.value?.key;
      batch(() => {
        if (key !== undefined && message.draft) {
          const before = drafts.value.get(key) ?? '';
          drafts.value = new Map(drafts.value).set(key, before ? `${before}\n${message.draft}` : message.draft);
        }
        composerFocus.value++;
      });
      return;
    }
    default: {
      const unhandled: never = message;
      console.warn('p2p-chat view: unknown host message', unhandled);
    }
  }
}

function isHostMessage(data: unknown): data is HostToView {
  return typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
}

/**
 * Connects the state to VS Code: restores what setState kept, listens for host notifications and
 * keeps the persisted part saved. Returns the cleanup. Call before posting `view/ready`, so the
 * snapshot that answers it cannot be missed.
 */
export function start(vscode: VsCodeApi, target: Pick<Window, 'addEventListener' | 'removeEventListener'> = window): () => void {
  api = vscode;
  const saved = readPersisted(vscode.getState());
  batch(() => {
    drafts.value = saved.drafts;
    loginFields.value = saved.login;
    collapsed.value = saved.collapsed;
    membersOpen.value = saved.membersOpen;
  });
  restoreKey = saved.openKey;
  const onMessage = (event: MessageEvent): void => {
    if (isHostMessage(event.data)) receive(event.data);
  };
  target.addEventListener('message', onMessage as EventListener);
  const stopSaving = effect(() => {
    const state: ViewState = { drafts: drafts.value, login: loginFields.value, collapsed: collapsed.value, membersOpen: membersOpen.value };
    const key = open.value?.key ?? restoreKey;
    if (key !== undefined) state.openKey = key;
    vscode.setState(toPersisted(state));
  });
  return () => {
    target.removeEventListener('message', onMessage as EventListener);
    stopSaving();
    clearTimeout(typingTimer);
    api = undefined;
  };
}

// ---- typing ------------------------------------------------------------------------------------

let typingKey: string | undefined;
let typingTimer: ReturnType<typeof setTimeout> | undefined;

function setTyping(key: string, active: boolean): void {
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

function checkLength(value: string, max: number, field: FormField, what: string): boolean {
  if (value.length <= max) return true;
  error.value = { message: `${what} must be at most ${max} characters.`, field };
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
      error.value = { message: missing[1], field: missing[0] };
      return;
    }
    if (!checkLength(tracker, VIEW_LIMITS.trackerChars, 'tracker', 'The tracker address')) return;
    if (!checkLength(user, VIEW_LIMITS.nameChars, 'user', 'The user name')) return;
    if (!checkLength(fields.password, VIEW_LIMITS.secretChars, 'password', 'The password')) return;
    batch(() => {
      error.value = undefined;
      authPending.value = true;
      loginFields.value = { tracker, user };
    });
    post({ type: register ? 'auth/register' : 'auth/login', tracker, user, password: fields.password });
  },

  runCommand(command: RunnableCommand): void {
    post({ type: 'command/run', command });
  },

  openConversation(key: string): void {
    if (open.value?.key === key) return;
    post({ type: 'conversation/open', key });
  },

  openDirect(user: string): void {
    post({ type: 'conversation/openDirect', user });
  },

  joinRoom(name: string, password?: string): void {
    if (password !== undefined && password.length > VIEW_LIMITS.secretChars) {
      error.value = { message: `The room password must be at most ${VIEW_LIMITS.secretChars} characters.` };
      return;
    }
    post(password !== undefined ? { type: 'room/join', name, password } : { type: 'room/join', name });
  },

  leaveRoom(key: string): void {
    post({ type: 'room/leave', key });
  },

  closeRoom(key: string): void {
    post({ type: 'room/close', key });
  },

  kick(key: string, user: string): void {
    post({ type: 'room/kick', key, user });
  },

  verify(user: string): void {
    post({ type: 'member/verify', user });
  },

  openSnippet(path: string, line: number): void {
    if (!path || path.length > VIEW_LIMITS.snippetPathChars) {
      error.value = { message: `This snippet's path is empty or longer than ${VIEW_LIMITS.snippetPathChars} characters, so it cannot be opened.` };
      return;
    }
    const bounded = Number.isFinite(line) ? Math.min(Math.max(1, Math.floor(line)), VIEW_LIMITS.snippetLine) : 1;
    post({ type: 'snippet/open', path, line: bounded });
  },

  /** The composer's text changed: keep the draft, and tell the others I am typing (or not). */
  setDraft(key: string, text: string): void {
    const next = new Map(drafts.value);
    if (text) next.set(key, text);
    else next.delete(key);
    drafts.value = next;
    setTyping(key, text.trim().length > 0);
  },

  /** Sends the draft of `key`. Returns whether it was sent. */
  send(key: string): boolean {
    const text = drafts.value.get(key) ?? '';
    if (!text.trim()) return false;
    const bytes = utf8.encode(text).length;
    if (bytes > VIEW_LIMITS.messageBytes) {
      error.value = { message: `This message is ${Math.ceil(bytes / 1024)} KiB; the limit is ${VIEW_LIMITS.messageBytes / 1024} KiB. Shorten it or share a file instead.` };
      return false;
    }
    const next = new Map(drafts.value);
    next.delete(key);
    drafts.value = next;
    setTyping(key, false);
    post({ type: 'message/send', key, text });
    return true;
  },

  dismissError(): void {
    error.value = undefined;
  },

  toggleSection(id: string): void {
    const next = new Set(collapsed.value);
    if (!next.delete(id)) next.add(id);
    collapsed.value = next;
  },

  setMembersOpen(value: boolean): void {
    membersOpen.value = value;
  },
};
