// What the interactive client prints (DESIGN.md "Terminal client"): messages, tables of command
// results, event lines and the command help. Pure functions of their input: the terminal
// (terminal.ts) cuts the PeerText they return into rows. Every field that came from a peer or the
// tracker is made visible here, one by one, so that no newline or padding in one can pass for a
// line of its own.

import { HISTORY_PAGE_MAX, type ClientCommandName, type ClientEventName, type ClientEvents, type CommandResults, type FingerprintResult, type HistoryMessage, type LinkRow, type MemberRow, type PeerRow, type PendingMessage, type RoomRow, type SearchResult } from '../protocol/client.ts';
import { QUOTE_CHARS } from '../protocol/message-actions.ts';
import { searchedFromNote } from '../protocol/search-coverage.ts';
import { isDmRoom } from '../protocol/peer.ts';
import { columnWidth, markSpaceRuns, visible, visibleLines } from '../protocol/text.ts';
import { COMMANDS } from './cli-commands.ts';
import { PeerText } from './terminal.ts';

/** The help text of both `node peer --help` and the `help` command: the COMMANDS table, --json-only ones left out. */
export function commandHelp(): string {
  const shown = COMMANDS.filter((c) => !c.jsonOnly);
  const width = Math.max(...shown.map((c) => c.usage.length));
  return [
    'Commands:',
    ...shown.map((c) => `  ${c.usage.padEnd(width)}  ${c.about}`),
    'Messages show as [room] sender: text, direct ones as [dm] sender: text. In chat mode, /quit leaves.',
    'One that arrived after later ones shows (late). One for someone not online waits and is sent when they are back (outbox).',
  ].join('\n');
}

/**
 * `[room] sender: text`, later lines of the text indented under it, then the snippet if any. Every
 * field is the sender's: shown visibly, long runs of spaces as `<57 spaces>`, and no line of the
 * text can pass for a message of its own (printed as PeerText, the rows it wraps to are indented
 * too). The code keeps its spaces: indentation is what it says.
 */
export function formatMessage(e: ClientEvents['message'], marks: string[] = []): string {
  const marked = [...marks, ...(e.late ? ['late'] : []), ...(e.replyTo ? [`reply to ${visible(e.replyTo)}`] : [])];
  const sender = visible(e.from) + (marked.length ? ` (${marked.join(', ')})` : '');
  const lines = [`[${e.direct ? 'dm' : visible(e.room)}] ${sender}: ${visibleLines(markSpaceRuns(e.text), '  ')}`];
  const s = e.snippet;
  if (s) {
    lines.push(
      `  (${visible(markSpaceRuns(s.language))} snippet, ${visible(markSpaceRuns(s.path))}:${Number(s.startLine)}-${Number(s.endLine)})`,
      `    ${visibleLines(s.code, '    ')}`,
    );
  }
  return lines.join('\n');
}

/**
 * Columns padded to line up (by terminal columns: wide characters count 2), every row indented
 * and every cell made visible: names, addresses and fingerprints come from the tracker, and a row
 * must not start with one of them. `cells` is rows of cells; at least one row.
 */
export function table(cells: string[][]): PeerText {
  const rows = cells.map((r) => r.map((cell) => visible(markSpaceRuns(cell))));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => columnWidth(r[i]))));
  return new PeerText(rows.map((r) => '  ' + r.map((cell, i) => cell + ' '.repeat(widths[i] - columnWidth(cell))).join('  ').trimEnd()).join('\n'));
}

/** The first four groups of a fingerprint, enough to tell keys apart in a table. */
function shortKey(fingerprint: string): string {
  return `${fingerprint.split(' ').slice(0, 4).join(' ')}...`;
}

/** A pending key change, or the tracker showing another key than the pin: said in the row. */
export function keyWarning(row: { changedTo?: string; trackerFingerprint?: string }): string {
  if (row.changedTo) return `! KEY CHANGED to ${shortKey(row.changedTo)}`;
  if (row.trackerFingerprint) return `! TRACKER SHOWS ANOTHER KEY ${shortKey(row.trackerFingerprint)}: compare out of band`;
  return '';
}

/** `list_peers`: one row a user; the key pinned here (the one used and verified), the tracker's only when it disagrees. */
export function peersTable(peers: PeerRow[], me: string | undefined): PeerText | string {
  if (!peers.length) return 'Nobody is registered yet.';
  return table(
    peers.map((p) => [
      p.user + (p.user === me ? ' (you)' : ''),
      p.online ? 'online' : 'offline',
      p.online && p.address ? `${p.address}:${p.port ?? '?'}` : '',
      `key ${shortKey(p.fingerprint)}`,
      p.user === me ? '' : p.verified ? 'verified' : p.pinned ? 'not verified' : 'not pinned yet',
      keyWarning(p),
    ]),
  );
}

/** `list_rooms`. */
export function roomsTable(rooms: RoomRow[]): PeerText | string {
  if (!rooms.length) return 'No rooms yet: create_room NAME makes one.';
  return table(
    rooms.map((r) => [
      r.name,
      r.private ? 'private' : 'public',
      r.owner ? `owner ${r.owner}` : 'no owner',
      `${r.members} member${r.members === 1 ? '' : 's'}, ${r.online} online`,
      r.member ? '(joined)' : '',
    ]),
  );
}

/** `list_conn`. */
export function linksTable(links: LinkRow[]): PeerText | string {
  if (!links.length) return 'No open peer links.';
  return table(links.map((l) => [l.user, l.address, l.initiator ? 'opened by you' : `opened by ${l.user}`]));
}

/** `members ROOM`: the room's name on a line, then one row a member (indented under it). */
export function membersTable(room: string, members: MemberRow[]): PeerText {
  const rows = table(
    members.map((m) => [
      '  ' + m.user,
      m.owner ? 'owner' : '',
      m.online ? 'online' : 'offline',
      m.fingerprint ? `key ${shortKey(m.fingerprint)}` : '',
      m.verified ? 'verified' : 'not verified',
      keyWarning(m),
    ]),
  );
  return new PeerText(`${visible(room)}:\n${rows.text}`);
}

/** `fingerprint [USER]`: mine, or another user's with whether it is verified. */
export function fingerprintLine(fp: FingerprintResult, me: string | undefined): string {
  const mine = fp.user === me;
  return `${mine ? 'Your' : `${visible(fp.user)}'s`} fingerprint: ${visible(fp.fingerprint)}${mine ? '' : fp.verified ? ' (verified)' : ' (not verified)'}`;
}

/**
 * Where a message went, as a raw (not yet visible) name: the room's name, or for a direct
 * conversation (`dm:<a>:<b>`) the other user and "(direct)".
 */
export function placeName(room: string, roomId: string, me: string | undefined): string {
  if (!isDmRoom(roomId)) return room;
  const users = roomId.slice('dm:'.length).split(':');
  return `${users.find((u) => u !== me) ?? users[0]} (direct)`;
}

function where(e: { room: string; roomId: string }, me: string | undefined): string {
  return visible(placeName(e.room, e.roomId, me));
}

/** `YYYY-MM-DD HH:MM` in local time; the sender signed `ms`, so nonsense shows as question marks rather than throwing. */
export function clock(ms: number): string {
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return '????-??-?? ??:??';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/**
 * `history`: one message a line, oldest first, in the live messages' format with the time in
 * front; mine marked `(you)` (and `waiting for ...` while it waits), late ones `(late)`. `ref` and
 * `limit` are what was asked for, repeated in the hint when older messages exist.
 */
export function historyText(r: CommandResults['history'], me: string | undefined, ref: string, limit: number, ids = false): PeerText {
  const direct = isDmRoom(r.roomId);
  if (!r.messages.length) return new PeerText(`No messages stored here for ${where(r, me)}.`);
  const byId = new Map(r.messages.map((m) => [m.id, m]));
  const lines = r.messages.map((m) => {
    const { replyTo: _r, ...rest } = m;
    const shown = { ...rest, room: r.room, roomId: r.roomId, direct, ...(m.deleted ? { text: '(message deleted)' } : {}) };
    return `${clock(m.sentAt)} ${ids ? `${visible(m.id)} ` : ''}${formatMessage(shown, [...historyMarks(m, me), ...(m.edited ? ['edited'] : [])])}${stateLines(m, byId.get(m.replyTo ?? ''), r.more)}`;
  });
  if (r.more) {
    lines.push(
      limit < HISTORY_PAGE_MAX
        ? `... older messages: history ${visible(ref)} ${Math.min(limit * 2, HISTORY_PAGE_MAX)}`
        : `... older messages than these ${HISTORY_PAGE_MAX}: page on with --json history and "before"`,
    );
  }
  return new PeerText(lines.join('\n'));
}

/**
 * Under a history line: the message it answers (quoted), then its reactions. An original not on
 * the page is older than it only while older messages exist (`more`); on a page that starts at the
 * conversation's first message, it never arrived here.
 */
function stateLines(m: HistoryMessage, original: HistoryMessage | undefined, more: boolean): string {
  let out = '';
  if (m.replyTo) out += `\n  > ${original ? quote(original) : `reply to message ${visible(m.replyTo)} (${more ? 'not on this page: older, or not received here' : 'not received here'})`}`;
  if (m.reactions?.length) out += `\n  ${m.reactions.map((r) => `${visible(r.emoji)} ${r.users.map(visible).join(', ')}`).join('  ')}`;
  return out;
}

/** `sender: text` of a quoted message, its first line cut to QUOTE_CHARS. */
function quote(m: HistoryMessage): string {
  if (m.deleted) return `${visible(m.from)}: (message deleted)`;
  return quoteText(m.from, m.text);
}

/**
 * `search`: one row a result, newest first: when, where, who, the text around the match, the id;
 * then, when the engine's search index is full (`searchedFrom`), from when messages were searched.
 */
export function searchTable(results: SearchResult[], me: string | undefined, searchedFrom?: number): PeerText | string {
  const note = searchedFrom === undefined ? '' : `\n${searchedFromNote(searchedFrom)}`;
  if (!results.length) return `No stored message contains that.${note}`;
  const rows = table(results.map((r) => [clock(r.sentAt), placeName(r.room, r.roomId, me), `${r.from}:`, r.text.replace(/\s+/g, ' '), r.id]));
  return new PeerText(rows.text + note);
}

function historyMarks(m: HistoryMessage, me: string | undefined): string[] {
  if (m.from !== me) return [];
  return ['you', ...(m.waitingFor?.length ? [`waiting for ${m.waitingFor.map(visible).join(', ')}`] : [])];
}

/** `outbox`: one row a message of mine still waiting, with whom it waits for. */
/** How `outbox` names an entry that is not a message (a receipt or a toggle is no message the user wrote). */
const PENDING_KIND: Record<NonNullable<PendingMessage['kind']>, string> = { edit: 'edit', delete: 'delete', react: 'reaction', read: 'read receipt' };

export function outboxTable(pending: PendingMessage[], me: string | undefined): PeerText | string {
  if (!pending.length) return 'Nothing waiting: every message you sent reached everyone it was for.';
  return table(pending.map((p) => [placeName(p.room, p.roomId, me), `${p.kind ? PENDING_KIND[p.kind] : 'message'} ${p.id}`, `waiting for ${p.waitingFor.join(', ')}`]));
}

/** What a line may depend on besides the event or result: who I am and whether to be verbose. */
export interface Viewer {
  me: string | undefined;
  /** Delivery counts and typing notices are shown only then. */
  verbose: boolean;
  /** `sender: first line` of a message shown in this run (made visible, cut), to name it by. */
  quoteOf?: (roomId: string, id: string) => string | undefined;
}

/** A message an event names: quoted when shown in this run, else by its id. */
function named(e: { roomId: string; id: string }, quoteOf: Viewer['quoteOf']): string {
  const q = quoteOf?.(e.roomId, e.id);
  return q === undefined ? `message ${v(e.id)}` : `"${q}"`;
}

/** `from: text` as a quote names a message (its first line, cut to QUOTE_CHARS, made visible). */
export function quoteText(from: string, text: string): string {
  const first = text.split('\n')[0] ?? '';
  const cut = first.length > QUOTE_CHARS ? `${first.slice(0, QUOTE_CHARS)}...` : first;
  return `${visible(from)}: ${visible(markSpaceRuns(cut))}`;
}

type EventLine<K extends ClientEventName> = (e: ClientEvents[K], ctx: Viewer) => string | undefined;

// Every field an engine event or a result carries came from a peer or the tracker: each is made visible.
const v = visible;

type ResultLine<K extends ClientCommandName> = (result: CommandResults[K], viewer: Viewer) => string | PeerText | undefined;

/**
 * What each command prints once it succeeded (undefined: nothing), from its typed result; null
 * where the interactive client words it itself (register, which may log in too) or prints
 * nothing (exit; typing is --json only).
 */
export type ResultLines = { [K in ClientCommandName]: ResultLine<K> | null };
export const RESULT_LINES: ResultLines = {
  register: null,
  exit: null,
  typing: null,
  // The interactive client words it (historyText): its hint repeats the name that was typed.
  history: null,
  outbox: (r, { me }) => outboxTable(r.pending, me),
  help: () => commandHelp(),
  login: (r) => `Logged in as ${v(r.user)}${r.resumed ? ' (saved session)' : ''}; peers reach you on port ${r.port}.`,
  logout: (r) => `Logged out ${v(r.user)}; the saved session is forgotten.`,
  list_peers: (r, { me }) => peersTable(r.peers, me),
  list_rooms: (r) => roomsTable(r.rooms),
  list_conn: (r) => linksTable(r.links),
  create_room: (r) => new PeerText(`Created ${r.private ? 'private' : 'public'} room ${v(r.room)}. Others join with: join_room ${v(r.room)}`),
  join_room: (r) => new PeerText(`Joined ${v(r.room)}; members: ${r.members.map(v).join(', ')}.`),
  leave_room: (r) => new PeerText(`Left ${v(r.room)}.`),
  close_room: (r) => new PeerText(`Closed ${v(r.room)}.`),
  kick: (r) => new PeerText(`Kicked ${v(r.user)} from ${v(r.room)}.`),
  members: (r) => membersTable(r.room, r.members),
  msg_room: (r, { verbose }) => (verbose ? `(sent ${r.messageId} to ${r.recipients})` : undefined),
  msg: (r, { verbose }) => (verbose ? `(sent ${r.messageId} to ${r.recipients})` : undefined),
  reply: (r, { verbose }) => (verbose ? `(sent ${r.messageId} to ${r.recipients})` : undefined),
  react: (r, { verbose }) => (verbose ? `(reaction ${r.messageId} sent to ${r.recipients})` : undefined),
  edit: (r, { me }) => `Edited in ${where(r, me)}; every member gets the new text.`,
  delete: (r, { me }) => `Deleted in ${where(r, me)}: each member who receives the delete shows "message deleted" and drops its text and the encrypted copy held for catch-up; a member who never comes back keeps what they had.`,
  mark_read: (r, { verbose }) => (verbose ? `(read receipt ${r.messageId} sent to ${r.recipients})` : undefined),
  search: (r, { me }) => searchTable(r.results, me, r.searchedFrom),
  fingerprint: (r, { me }) => fingerprintLine(r, me),
  verify: (r) => `Verified ${v(r.user)}: ${r.fingerprint}.`,
};

/**
 * The line each engine event prints (undefined: nothing), or null for events the interactive
 * client does not print as a line: `ready` (said at login), `directory_changed` (list_rooms asks),
 * and `connection`, whose line depends on the state before (connectionLine). The mapped type
 * makes a new event a compile error here until its line is decided.
 */
export const EVENT_LINES: { [K in ClientEventName]: EventLine<K> | null } = {
  ready: null,
  directory_changed: null,
  connection: null,
  message: (e) => formatMessage(e.deleted ? { ...e, text: '(message deleted)' } : e),
  delivered: (e, { verbose }) => (verbose ? `[${v(e.room)}] delivered to ${e.count} of ${e.of}` : undefined),
  waiting: (e, { me }) => `* message ${v(e.id)} to ${where(e, me)} waiting for ${e.waitingFor.map(v).join(', ')}; kept and sent when they are back`,
  expired: (e, { me }) => `! message ${v(e.id)} to ${where(e, me)} expired before it reached ${v(e.user)}`,
  gap: (e, { me }) =>
    e.missing > 0
      ? `* ${Number(e.missing)} message${e.missing === 1 ? '' : 's'} from ${v(e.from)} in ${where(e, me)} not received yet`
      : `* all messages from ${v(e.from)} in ${where(e, me)} received`,
  presence: (e) => `* ${v(e.user)} ${e.online ? 'is online' : 'went offline'}`,
  // My own join and leave are what join_room and leave_room already said.
  member_joined: (e, { me }) => (e.user === me ? undefined : `[${v(e.room)}] * ${v(e.user)} joined`),
  member_left: (e, { me }) => (e.user === me ? undefined : `[${v(e.room)}] * ${v(e.user)} left`),
  member_kicked: (e, { me }) => `[${v(e.room)}] * ${e.user === me ? 'you were' : `${v(e.user)} was`} kicked by ${v(e.by)}`,
  owner_changed: (e) => `[${v(e.room)}] * ${e.owner ? `${v(e.owner)} is now the owner` : 'the room has no owner now'}`,
  room_closed: (e) => `[${v(e.room)}] * closed by ${v(e.by)}`,
  key_changed: (e) =>
    `! ${v(e.user)}'s key changed${e.rooms.length ? ` (you share ${e.rooms.map(v).join(', ')})` : ''}: was ${v(e.oldFingerprint)}, now ${v(e.newFingerprint)}. ` +
    `Nothing is sent to ${v(e.user)} until you compare fingerprints with them and run: verify ${v(e.user)} ${v(e.newFingerprint.replace(/\s/g, ''))}`,
  room_forked: (e) => `! [${v(e.room)}] ${visibleLines(e.detail, '  ')}`,
  typing: (e, { verbose }) => (verbose && e.active ? `[${v(e.room)}] ${v(e.user)} is typing...` : undefined),
  reaction: (e, { me, quoteOf }) => `[${where(e, me)}] * ${v(e.user)} ${e.on ? 'reacted' : 'took back'} ${v(e.emoji)} ${e.on ? 'to' : 'on'} ${named(e, quoteOf)}`,
  edited: (e, { me, quoteOf }) => `[${where(e, me)}] * ${named(e, quoteOf)} edited: ${visibleLines(markSpaceRuns(e.text), '  ')}`,
  deleted: (e, { me }) => `[${where(e, me)}] * message ${v(e.id)} deleted by its author`,
  // Receipts come often: shown only when verbose.
  read: (e, { verbose, me }) => (verbose && e.user !== me ? `[${where(e, me)}] ${v(e.user)} read up to message ${v(e.upTo)}` : undefined),
  error: (e) => `! ${visibleLines(e.message, '  ')}`,
};

type ConnectionState = ClientEvents['connection']['state'];

/**
 * The tracker link's news, or undefined: connecting and going online are what login and logout
 * already say; a drop, a return after one, and giving up after one are news.
 */
export function connectionLine(before: ConnectionState, e: ClientEvents['connection']): string | undefined {
  const news = e.state === 'reconnecting' || (before === 'reconnecting' && (e.state === 'online' || e.state === 'offline'));
  return news ? `* tracker: ${visibleLines(e.detail, '  ')}` : undefined;
}
