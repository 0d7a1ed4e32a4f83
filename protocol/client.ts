// The chat engine's public interface, declared once: the events it emits and the commands of the
// terminal client's `--json` mode (one JSON object per stdin line, one per stdout line). Bots,
// the benchmark and the tests speak exactly this; the VS Code extension listens to the same
// events in-process.

import { arr, bool, int, obj, optional, str, variants, type Infer } from './schema.ts';
import type { ErrorCode } from './errors.ts';
import type { ConversationId, MessageSnippet } from './peer.ts';
import { SEARCH_LIMITS, emojiSchema, messageIdSchema, type ReactionCount } from './message-actions.ts';
import { MAX_DEVICES_LISTED, deviceInfoSchema, type RoomSummary } from './tracker.ts';
import { MAX_TEXT_BYTES } from './text-limit.ts';

// ---- events ------------------------------------------------------------------------------------

export interface ClientEvents {
  ready: { port: number };
  /**
   * Every room-scoped event names its conversation by `roomId` (a room id, or `dm:<a>:<b>` for a
   * direct conversation, see protocol/peer.ts ConversationId) and carries the display name in `room`.
   */
  /**
   * `replyTo`: the id of the message (of this conversation) it answers. `deleted`: its author
   * deleted it before it was shown here (no text, no snippet): show "message deleted", never
   * unread nor notified.
   */
  message: { room: string; roomId: ConversationId; from: string; id: string; text: string; sentAt: number; direct: boolean; late?: boolean; deleted?: boolean; replyTo?: string; snippet?: MessageSnippet };
  /**
   * `user` put (`on`) or took back an `emoji` on message `id`. Also my own reactions from another
   * device. Emitted for reactions to messages not here yet too (they apply when it arrives).
   */
  reaction: { room: string; roomId: ConversationId; id: string; user: string; emoji: string; on: boolean };
  /** Message `id`'s author changed its text to `text` (only the author's edits are applied). */
  edited: { room: string; roomId: ConversationId; id: string; text: string };
  /** Message `id` was deleted by its author: its text is gone from this store; show "message deleted". */
  deleted: { room: string; roomId: ConversationId; id: string };
  /**
   * `user` has read the conversation up to and including message `upTo` (a read receipt; mine from
   * another device too). `had`, when the receipt says it: each other sender's newest message the
   * reader held up to there (protocol/message-actions.ts): one that came later was not read.
   */
  read: { room: string; roomId: ConversationId; user: string; upTo: string; had?: string[] };
  /** How many members have acknowledged one of my messages so far. */
  delivered: { room: string; roomId: ConversationId; id: string; count: number; of: number };
  /**
   * One of my messages is kept in the outbox for members it has not reached yet (offline, or their
   * link failed): `waitingFor` names them. Sent again whenever the set changes but is not empty.
   */
  waiting: { room: string; roomId: ConversationId; id: string; waitingFor: string[] };
  /** One of my messages expired undelivered to `user` (the outbox's age or size limit, or the mailbox dropped it). */
  expired: { room: string; roomId: ConversationId; id: string; user: string };
  /** `missing` messages of `from` in this conversation are known to exist but have not arrived yet (0: the gap is filled). */
  gap: { room: string; roomId: ConversationId; from: string; missing: number };
  presence: { user: string; online: boolean };
  member_joined: { room: string; roomId: ConversationId; user: string };
  member_left: { room: string; roomId: ConversationId; user: string };
  member_kicked: { room: string; roomId: ConversationId; user: string; by: string };
  owner_changed: { room: string; roomId: ConversationId; owner: string | null };
  room_closed: { room: string; roomId: ConversationId; by: string };
  /** A user's identity key differs from the pinned one: nothing is sent to them until `verify`. */
  key_changed: { user: string; oldFingerprint: string; newFingerprint: string; rooms: string[]; roomIds: ConversationId[] };
  /** Two members were shown different histories of a room; sending to it stops. */
  room_forked: { room: string; roomId: ConversationId; seq: number; detail: string; withheld: boolean };
  typing: { room: string; roomId: ConversationId; user: string; active: boolean };
  /** The room directory as the tracker last told it (list answers and pushes); at most once per event-loop turn. */
  directory_changed: { rooms: RoomSummary[] };
  /** The tracker link: connecting, online, reconnecting, offline. */
  connection: { state: 'offline' | 'connecting' | 'online' | 'reconnecting'; detail: string };
  /** `code` is declared in protocol/errors.ts ERROR_REGISTRY (`internal` for anything unexpected). */
  error: { code: ErrorCode; message: string };
}
export type ClientEventName = keyof ClientEvents;
export type ClientEvent = { [K in ClientEventName]: { event: K } & ClientEvents[K] }[ClientEventName];

// ---- --json commands -----------------------------------------------------------------------------

const name = str({ min: 1, max: 64 });
/** `history` pages: at most this many messages, HISTORY_PAGE_DEFAULT when no limit is given. */
export const HISTORY_PAGE_MAX = 500;
export const HISTORY_PAGE_DEFAULT = 50;
/** A message id a `history` page is read next to. */
const pageCursor = str({ min: 1, max: 64 });
// A cap on what one command line may carry, well above the text limit: the engine measures the
// UTF-8 bytes against MAX_TEXT_BYTES and answers too long a text with its own code.
const text = str({ max: MAX_TEXT_BYTES * 4 });

export const clientCommandSchema = variants(
  'cmd',
  {
    register: obj({ user: name, password: str({ max: 1024 }) }),
    login: obj({ user: name, password: optional(str({ max: 1024 })) }),
    /** `everywhere`: every device of mine is logged out, not only this one. */
    logout: obj({ everywhere: optional(bool()) }),
    list_peers: obj({}),
    list_rooms: obj({}),
    list_conn: obj({}),
    create_room: obj({ room: name, private: optional(bool()), password: optional(str({ max: 1024 })) }),
    join_room: obj({ room: name, password: optional(str({ max: 1024 })) }),
    leave_room: obj({ room: name, force: optional(bool()) }),
    close_room: obj({ room: name, force: optional(bool()) }),
    kick: obj({ room: name, user: name }),
    members: obj({ room: name }),
    msg_room: obj({ room: name, text }),
    msg: obj({ user: name, text }),
    typing: obj({ room: name, active: bool() }),
    /** A message answering message `to` of the conversation (`room`, or the direct one with `user`). */
    reply: obj({ room: optional(name), user: optional(name), to: messageIdSchema, text }),
    /** Puts (`on`, the default) or takes back a reaction on a message. */
    react: obj({ room: optional(name), user: optional(name), messageId: messageIdSchema, emoji: emojiSchema, on: optional(bool()) }),
    /** Changes the text of one of my messages. */
    edit: obj({ room: optional(name), user: optional(name), messageId: messageIdSchema, text }),
    /** Deletes one of my messages, for every member (its text is removed from their stores). */
    delete: obj({ room: optional(name), user: optional(name), messageId: messageIdSchema }),
    /** Tells the conversation's members I have read it up to and including `upTo` (a read receipt). */
    mark_read: obj({ room: optional(name), user: optional(name), upTo: messageIdSchema }),
    /** Messages of every conversation (or `room`'s: a room name or user) containing `query`, newest first. */
    search: obj({ query: str({ min: 1, max: SEARCH_LIMITS.queryChars }), room: optional(name), limit: optional(int({ min: 1, max: SEARCH_LIMITS.maxResults })) }),
    /**
     * One page of a conversation's stored history, oldest first: `room` or `user`; the newest, or at
     * most one of `before`, `after` or `around` a message id (`around`: it, with the messages
     * before and after it).
     */
    history: obj({ room: optional(name), user: optional(name), before: optional(pageCursor), after: optional(pageCursor), around: optional(pageCursor), limit: optional(int({ min: 1, max: HISTORY_PAGE_MAX })) }),
    /** My messages not yet acknowledged by every member they were for. */
    outbox: obj({}),
    fingerprint: obj({ user: optional(name) }),
    verify: obj({ user: name, fingerprint: optional(str({ max: 100 })) }),
    help: obj({}),
    exit: obj({}),
  },
  'request.unknown_type',
);
export type ClientCommand = Infer<typeof clientCommandSchema>;
export type ClientCommandName = ClientCommand['cmd'];

export const commandIdSchema = optional(int({ min: 0 }));

/** One `--json` answer line: the command's result after `id` and `ok`, or its error. */
export type CommandAnswer =
  | ({ id?: number; ok: true } & CommandResult)
  | { id?: number; ok: false; error: { code: ErrorCode; message: string } };

/** Rows returned by list commands. */
/**
 * `fingerprint`: the pinned key; `changedTo`: a pending key change; `trackerFingerprint`: the
 * tracker's presence fingerprint, only when it disagrees with the pin (treat it as a key change).
 */
export const memberRowSchema = obj({
  user: name, owner: bool(), verified: bool(), online: bool(),
  fingerprint: optional(str({ max: 100 })), changedTo: optional(str({ max: 100 })), trackerFingerprint: optional(str({ max: 100 })),
});
export type MemberRow = Infer<typeof memberRowSchema>;
/**
 * A `list_peers` row. `fingerprint` is the pinned key where one exists (`pinned`), else the
 * tracker's; `trackerFingerprint` is the tracker's presence fingerprint when it disagrees with the
 * pin: the tracker and the pin disagree (treat it as a key change, compare out of band).
 */
export const peerRowSchema = obj({
  user: name, online: bool(), address: optional(str({ max: 100 })), port: optional(int({ min: 0, max: 65535 })),
  fingerprint: str({ max: 100 }), pinned: bool(), verified: bool(), changedTo: optional(str({ max: 100 })), trackerFingerprint: optional(str({ max: 100 })),
  /** Each device of the user online now, with where it listens. */
  devices: optional(arr(deviceInfoSchema, { max: MAX_DEVICES_LISTED })),
});
export type PeerRow = Infer<typeof peerRowSchema>;
export const linkRowSchema = obj({ user: name, address: str({ max: 100 }), initiator: bool() });
export type LinkRow = Infer<typeof linkRowSchema>;
export const roomRowSchema = obj({ name, id: str({ max: 64 }), private: bool(), owner: optional(name), members: int(), online: int(), member: bool() });
export type RoomRow = Infer<typeof roomRowSchema>;

// ---- command results -----------------------------------------------------------------------------

/** The command with this name, as parsed by clientCommandSchema. */
export type CommandOf<K extends ClientCommandName> = Extract<ClientCommand, { cmd: K }>;

/**
 * One stored message (`history`): `from` its sender (me for my own), `sentAt` ms since the epoch:
 * its place in the timeline, the time the sender signed or, when that was ahead of this device's
 * clock, when it arrived here (peer/timeline-time.ts); `late` when it arrived after messages that
 * come after it in the order.
 * My own messages carry `waitingFor` (members it has not reached yet) while it waits, and
 * `notDelivered` (members it expired undelivered to).
 */
export interface HistoryMessage {
  id: string;
  from: string;
  text: string;
  sentAt: number;
  snippet?: ClientEvents['message']['snippet'];
  late?: boolean;
  waitingFor?: string[];
  /** My own: members it expired undelivered to (it will not reach them; send it again). */
  notDelivered?: string[];
  /** The id of the message it answers. */
  replyTo?: string;
  /** Reactions on it, in the order they were first given. */
  reactions?: ReactionCount[];
  /** Its author changed its text (`text` is the latest). */
  edited?: boolean;
  /** Its author deleted it: `text` is empty and there is no snippet. */
  deleted?: boolean;
}

/** A `search` result: a message, `room` the conversation's display name (the other person's for a direct one), `text` around the first match. */
export interface SearchResult {
  room: string;
  roomId: ConversationId;
  id: string;
  from: string;
  text: string;
  sentAt: number;
}

/** What an action on a message answers (`react`, `edit`, `delete`, `mark_read`): the action message's own id. */
export interface ActionResult {
  room: string;
  roomId: ConversationId;
  messageId: string;
  sentAt: number;
  recipients: number;
}

/** A message of mine kept in the outbox: the members it waits for. */
export interface PendingMessage {
  room: string;
  roomId: ConversationId;
  id: string;
  waitingFor: string[];
  /** Absent for a message; else what it is: `edit`, `delete`, `react` (a reaction toggle) or `read` (a read receipt). */
  kind?: 'edit' | 'delete' | 'react' | 'read';
}

/** A key's fingerprint as the `fingerprint` command shows it (the pinned one; `changedTo` a pending change). */
export interface FingerprintResult {
  user: string;
  fingerprint: string;
  verified: boolean;
  changedTo?: string;
}

/** Refuses (at compile time) a results map that leaves a command out. */
type EveryCommand<T extends { [K in ClientCommandName]: object }> = T;

/**
 * What each command answers, declared once (peer/cli-commands.ts runCommand returns
 * `CommandResults[K]` for command K): the interactive mode prints it, `--json` sends it after `id`
 * and `ok`, which no result uses. `room` is a room's display name, `roomId` its id.
 */
export type CommandResults = EveryCommand<{
  register: { user: string };
  /** `port`: where peers reach this client; `resumed`: the saved session was used, no password. */
  /** `device`: this data folder's device id (one user may be online from several). */
  login: { user: string; port: number; resumed: boolean; device: string };
  logout: { user: string };
  list_peers: { peers: PeerRow[] };
  /** Open rooms only. */
  list_rooms: { rooms: RoomRow[] };
  list_conn: { links: LinkRow[] };
  create_room: { room: string; roomId: ConversationId; private: boolean };
  /** `members`: user names, the joiner included. */
  join_room: { room: string; roomId: ConversationId; members: string[] };
  leave_room: { room: string };
  close_room: { room: string };
  kick: { room: string; user: string };
  members: { room: string; members: MemberRow[] };
  /** `recipients`: members the message was sent to; `sentAt` in ms since the epoch. */
  msg_room: { room: string; messageId: string; sentAt: number; recipients: number };
  /** `room` and `roomId` both hold the direct conversation's id (`room` kept for older scripts). */
  msg: { user: string; room: ConversationId; roomId: ConversationId; messageId: string; sentAt: number; recipients: number };
  reply: { room: string; roomId: ConversationId; messageId: string; sentAt: number; recipients: number };
  react: ActionResult;
  edit: ActionResult;
  delete: ActionResult;
  mark_read: ActionResult;
  /**
   * Newest first. `searchedFrom` (ms), only when the in-memory index is full: every message sent
   * from it on was searched, older ones only in part (say so to the user with
   * protocol/search-coverage.ts; peer/search-index.ts maxTotalChars).
   */
  search: { results: SearchResult[]; searchedFrom?: number };
  /** Nothing to say: an empty object (not Record<string, never>, which no `--json` answer could carry). */
  typing: Record<never, never>;
  /**
   * `messages` oldest first; `more`: older messages exist before the first; `newer`: newer ones
   * exist after the last (never for the newest page). The newest page (no cursor) also carries
   * `gaps`: per sender, messages known to exist that have not arrived yet.
   */
  history: { room: string; roomId: ConversationId; messages: HistoryMessage[]; more: boolean; newer: boolean; gaps?: { from: string; missing: number }[] };
  outbox: { pending: PendingMessage[] };
  fingerprint: FingerprintResult;
  /** The fingerprint now verified (the one compared). */
  verify: { user: string; fingerprint: string };
  /** `fields`: the command's JSON fields besides `id` and `cmd`. */
  help: { commands: { cmd: ClientCommandName; fields: string; about: string }[] };
  exit: Record<never, never>;
}>;
export type CommandResult<K extends ClientCommandName = ClientCommandName> = CommandResults[K];
