// Messages between the extension host and the sidebar webview, declared once and imported by both
// (STYLE.md: typed IPC, like GitLens's protocol.ts). Host-to-view notifications carry facts in the
// past tense; view-to-host commands are checked with a schema on arrival, because the webview
// renders other people's text and must not be able to make the host do anything unexpected.
// The host is the source of truth: on `view/ready` it sends a snapshot, then events.

import { bool, int, obj, oneOf, optional, str, variants, type Infer } from './schema.ts';

// ---- shared shapes ----------------------------------------------------------------------------------

export type SessionState = 'logged_out' | 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface SessionView {
  state: SessionState;
  user?: string;
  tracker: string;
  /** What is happening, in words ("reconnecting in 2 s"). */
  detail: string;
}

/** A conversation in the sidebar: a room, or a direct conversation (`dm:<a>:<b>`). */
export interface RoomItem {
  /** Room id, or `dm:<a>:<b>`. */
  key: string;
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

/** A room I could join (from the tracker's list). */
export interface DirectoryRoom {
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

export interface MemberItem {
  user: string;
  owner: boolean;
  verified: boolean;
  online: boolean;
  fingerprint?: string;
}

export interface Snippet {
  language: string;
  path: string;
  startLine: number;
  endLine: number;
  code: string;
}

export interface TimelineMessage {
  kind: 'message';
  id: string;
  from: string;
  text: string;
  sentAt: number;
  mine: boolean;
  /** Own messages: how many recipients acknowledged so far, of how many. */
  delivered?: { count: number; of: number };
  mentionsMe: boolean;
  snippet?: Snippet;
}

export interface TimelineNotice {
  kind: 'notice';
  id: string;
  time: number;
  text: string;
  level: 'info' | 'warning';
}

export type TimelineItem = TimelineMessage | TimelineNotice;

export interface ViewSnapshot {
  session: SessionView;
  rooms: RoomItem[];
  directory: DirectoryRoom[];
  people: PersonItem[];
  /** The conversation shown, with its timeline and members. */
  open?: { key: string; timeline: TimelineItem[]; members: MemberItem[]; typing: string[] };
}

// ---- NOTIFICATIONS (host -> view) -------------------------------------------------------------------

export type HostToView =
  | { type: 'host/snapshot'; snapshot: ViewSnapshot }
  | { type: 'session/changed'; session: SessionView }
  | { type: 'rooms/changed'; rooms: RoomItem[] }
  | { type: 'directory/changed'; directory: DirectoryRoom[] }
  | { type: 'people/changed'; people: PersonItem[] }
  /** The open conversation changed (or was reloaded): its whole timeline and members. */
  | { type: 'conversation/opened'; key: string; timeline: TimelineItem[]; members: MemberItem[]; typing: string[] }
  | { type: 'timeline/added'; key: string; item: TimelineItem }
  | { type: 'message/delivered'; key: string; id: string; count: number; of: number }
  | { type: 'members/changed'; key: string; members: MemberItem[] }
  | { type: 'typing/changed'; key: string; users: string[] }
  /** Something failed; `message` says what to do. */
  | { type: 'error/shown'; message: string; code?: string }
  /** Put the keyboard focus on the composer (after "Share Selection", say). */
  | { type: 'composer/focused'; draft?: string };

export type HostToViewType = HostToView['type'];

// ---- COMMANDS (view -> host) ------------------------------------------------------------------------

/** Limits of view commands, shared so the view can refuse with words instead of being dropped here. */
export const VIEW_LIMITS = {
  trackerChars: 300,
  nameChars: 64,
  secretChars: 1024,
  messageBytes: 64 * 1024,
  /** A snippet's path, in characters (as the peer wire's snippet path). */
  snippetPathChars: 1024,
  /** The highest line a snippet link asks for: peers send any integer, the view clamps to this. */
  snippetLine: 10_000_000,
} as const;

const roomKey = str({ min: 1, max: 80 });
const name = str({ min: 1, max: VIEW_LIMITS.nameChars });
const secret = str({ max: VIEW_LIMITS.secretChars });

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

export const viewToHostSchema = variants('type', {
  /** The view (re)loaded and wants a snapshot. */
  'view/ready': obj({}),
  'auth/login': obj({ tracker: str({ max: VIEW_LIMITS.trackerChars }), user: name, password: secret }),
  'auth/register': obj({ tracker: str({ max: VIEW_LIMITS.trackerChars }), user: name, password: secret }),
  'command/run': obj({ command: oneOf(...VIEW_RUNNABLE_COMMANDS) }),
  'conversation/open': obj({ key: roomKey }),
  'conversation/openDirect': obj({ user: name }),
  'room/join': obj({ name, password: optional(secret) }),
  'room/leave': obj({ key: roomKey }),
  'room/close': obj({ key: roomKey }),
  'room/kick': obj({ key: roomKey, user: name }),
  'member/verify': obj({ user: name }),
  'message/send': obj({ key: roomKey, text: str({ min: 1, max: VIEW_LIMITS.messageBytes, maxBytes: VIEW_LIMITS.messageBytes }) }),
  'typing/set': obj({ key: roomKey, active: bool() }),
  /** Open `path` at `line` in the receiver's workspace, if that file exists there. */
  'snippet/open': obj({ path: str({ min: 1, max: VIEW_LIMITS.snippetPathChars }), line: int({ min: 1, max: VIEW_LIMITS.snippetLine }) }),
});
export type ViewToHost = Infer<typeof viewToHostSchema>;
export type ViewToHostType = ViewToHost['type'];
