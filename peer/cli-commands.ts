// The terminal client's commands, run by one dispatcher for both of its modes (DESIGN.md
// "Terminal client"): interactive mode turns a typed line into a ClientCommand, `--json` mode
// parses one with clientCommandSchema (protocol/client.ts), and both get back the same result,
// typed per command (protocol/client.ts CommandResults), or an error with a stable code. The
// COMMANDS table (usage, JSON fields, help) is the one list of commands both modes read. Prompts,
// printing and JSON framing live in the modes.

import { HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, type ClientCommandName, type CommandOf, type CommandResults, type PeerRow, type RoomRow } from '../protocol/client.ts';
import { ProtocolError, isCoded, isDeclaredCode, type ErrorCode } from '../protocol/errors.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { dmRoom } from '../protocol/peer.ts';
import type { ChatEngine } from './engine.ts';

export interface CommandHelp {
  name: ClientCommandName;
  /** Interactive form; passwords are never typed on the command line, they are asked for. */
  usage: string;
  /** Fields of the `--json` form besides `id` and `cmd`. */
  json: string;
  about: string;
  /** Only in `--json` mode. */
  jsonOnly?: boolean;
}

/** The table, one entry per command: the mapped type makes a command left out a compile error. */
const HELP: { [K in ClientCommandName]: CommandHelp & { name: K } } = {
  register: { name: 'register', usage: 'register [USER]', json: 'user, password', about: 'create an account (a password of 15+ characters; interactive mode then logs in)' },
  login: { name: 'login', usage: 'login [USER]', json: 'user, password?', about: 'log in (asks for the password; without one, resumes the session saved here)' },
  logout: { name: 'logout', usage: 'logout [everywhere]', json: 'everywhere?', about: 'log out and forget the saved session (everywhere: every device of yours)' },
  list_peers: { name: 'list_peers', usage: 'list_peers', json: '', about: "everyone on the tracker, online or not, with the key pinned here (flagged when the tracker shows another)" },
  list_rooms: { name: 'list_rooms', usage: 'list_rooms', json: '', about: 'the rooms on the tracker' },
  list_conn: { name: 'list_conn', usage: 'list_conn', json: '', about: 'the open peer links' },
  create_room: { name: 'create_room', usage: 'create_room NAME [--private]', json: 'room, private?, password?', about: 'create a room (--private asks for a room password)' },
  join_room: { name: 'join_room', usage: 'join_room NAME', json: 'room, password?', about: 'join a room (asks for the password of a private room)' },
  leave_room: { name: 'leave_room', usage: 'leave_room NAME [--force]', json: 'room, force?', about: 'leave a room (refused while a message of yours there reached no member yet; --force leaves anyway and loses it)' },
  close_room: { name: 'close_room', usage: 'close_room NAME [--force]', json: 'room, force?', about: 'close a room for everyone (owner only; refused while a message of yours there has not reached every member: --force closes anyway)' },
  kick: { name: 'kick', usage: 'kick ROOM USER', json: 'room, user', about: 'remove a member from a room (owner only)' },
  members: { name: 'members', usage: 'members ROOM', json: 'room', about: "a room's members, owner, presence and pinned keys (verified or not; flagged when the tracker shows another)" },
  msg_room: { name: 'msg_room', usage: 'msg_room NAME [TEXT]', json: 'room, text', about: 'send to a room; without TEXT, chat mode until /quit' },
  msg: { name: 'msg', usage: 'msg USER [TEXT]', json: 'user, text', about: 'send a direct message; without TEXT, chat mode until /quit' },
  history: { name: 'history', usage: 'history ROOM|USER [N]', json: 'room | user, before? | after? | around?, limit?', about: `the last N messages stored here (default ${HISTORY_PAGE_DEFAULT}, at most ${HISTORY_PAGE_MAX}): a room you are in, else your direct conversation with that user (@USER: always the user)` },
  reply: { name: 'reply', usage: 'reply ROOM|@USER ID|-N TEXT', json: 'room | user, to, text', about: 'answer message ID (or -N: the Nth newest message there, -1 the last); the answer quotes it' },
  react: { name: 'react', usage: 'react ROOM|@USER ID|-N EMOJI [remove]', json: 'room | user, messageId, emoji, on?', about: 'put an emoji reaction on message ID (remove: take yours back)' },
  edit: { name: 'edit', usage: 'edit ROOM|@USER ID|-N TEXT', json: 'room | user, messageId, text', about: 'change the text of your message ID, for every member' },
  delete: { name: 'delete', usage: 'delete ROOM|@USER ID|-N', json: 'room | user, messageId', about: "delete your message ID for every member (each member who receives the delete removes its text)" },
  mark_read: { name: 'mark_read', usage: 'mark_read ROOM|@USER ID|-N', json: 'room | user, upTo', about: 'tell the members you have read up to message ID (a read receipt)' },
  search: { name: 'search', usage: 'search TEXT', json: 'query, room?, limit?', about: 'messages of every conversation containing every word of TEXT, newest first (case and accents ignored)' },
  outbox: { name: 'outbox', usage: 'outbox', json: '', about: 'your messages not yet received by everyone they were for, and whom each waits for' },
  typing: { name: 'typing', usage: 'typing ROOM on|off', json: 'room, active', about: 'tell the room you are typing', jsonOnly: true },
  fingerprint: { name: 'fingerprint', usage: 'fingerprint [USER]', json: 'user?', about: "your key's fingerprint, or another user's (fetched if never seen; never marks anyone verified)" },
  verify: { name: 'verify', usage: 'verify USER [FINGERPRINT]', json: 'user, fingerprint', about: 'mark a user verified with the fingerprint you compared out of band (without FINGERPRINT: shows the key pinned here and asks whether it matches); accepts a changed key' },
  help: { name: 'help', usage: 'help', json: '', about: 'this list' },
  exit: { name: 'exit', usage: 'exit', json: '', about: 'close and quit (the session stays saved and resumes next time)' },
};

/** Every command in the order `help` lists them: interactive mode, `--help` and `--json` help read this. */
export const COMMANDS: readonly CommandHelp[] = Object.values(HELP);

const COMMAND_BY_NAME = new Map<string, CommandHelp>(COMMANDS.map((c) => [c.name, c]));

/** The command whose name is `word` (a typed word: any text), or undefined. */
export function findCommand(word: string): CommandHelp | undefined {
  return COMMAND_BY_NAME.get(word);
}

export interface CommandFailure {
  code: ErrorCode;
  message: string;
}

type Handlers = { [K in ClientCommandName]: (engine: ChatEngine, cmd: CommandOf<K>) => Promise<CommandResults[K]> };

/** One handler per command; the mapped type makes a command without one a compile error. */
const HANDLERS: Handlers = {
  async register(engine, cmd) {
    const user = normalizeUserName(cmd.user);
    await engine.register(user, cmd.password);
    return { user };
  },
  async login(engine, cmd) {
    const user = normalizeUserName(cmd.user);
    if (cmd.password !== undefined) {
      await engine.login(user, cmd.password);
      return { user: engine.user!, port: engine.peerPort, resumed: false, device: engine.data.deviceId() };
    }
    if (engine.user) throw new ProtocolError('auth.already_authenticated', `already logged in as ${engine.user}; log out first`);
    // With one folder for everything (--data), the saved session may be another user's.
    if (!hasSavedSession(engine, user) || !(await engine.resume(user))) {
      throw new ProtocolError('auth.required', `no saved session for ${user} in ${engine.data.userDir(user)}: log in with the password`);
    }
    return { user: engine.user!, port: engine.peerPort, resumed: true, device: engine.data.deviceId() };
  },
  async logout(engine, cmd) {
    const user = engine.user;
    if (!user) throw new ProtocolError('auth.required', 'you are not logged in');
    await engine.logout({ everywhere: cmd.everywhere === true });
    return { user };
  },
  async list_peers(engine) {
    return { peers: (await engine.listPeers()).map(peerRow) };
  },
  async list_rooms(engine) {
    const rooms = (await engine.listRooms())
      .filter((r) => !r.closed)
      .map((r): RoomRow => ({ name: r.name, id: r.id, private: r.private, ...(r.owner ? { owner: r.owner } : {}), members: r.members, online: r.online, member: r.member }));
    return { rooms };
  },
  async list_conn(engine) {
    return { links: engine.listLinks() };
  },
  async create_room(engine, cmd) {
    const isPrivate = cmd.private ?? cmd.password !== undefined;
    if (isPrivate && !cmd.password) throw new ProtocolError('request.invalid', 'a private room needs a password');
    if (!isPrivate && cmd.password !== undefined) throw new ProtocolError('request.invalid', 'a password makes a room private: drop "private": false or the password');
    const { id, name } = await engine.createRoom(cmd.room, isPrivate ? { password: cmd.password! } : {});
    return { room: name, roomId: id, private: isPrivate };
  },
  async join_room(engine, cmd) {
    const { id, name, members } = await engine.joinRoom(cmd.room, cmd.password);
    return { room: name, roomId: id, members };
  },
  async leave_room(engine, cmd) {
    await engine.leaveRoom(cmd.room, cmd.force ? { force: true } : {});
    return { room: roomName(cmd.room) };
  },
  async close_room(engine, cmd) {
    await engine.closeRoom(cmd.room, cmd.force ? { force: true } : {});
    return { room: roomName(cmd.room) };
  },
  async kick(engine, cmd) {
    await engine.kick(cmd.room, cmd.user);
    return { room: roomName(cmd.room), user: normalizeUserName(cmd.user) };
  },
  async members(engine, cmd) {
    return { room: roomName(cmd.room), members: engine.members(cmd.room) };
  },
  async msg_room(engine, cmd) {
    const sent = await engine.sendRoom(cmd.room, cmd.text);
    return { room: roomName(cmd.room), messageId: sent.id, sentAt: sent.sentAt, recipients: sent.recipients };
  },
  async msg(engine, cmd) {
    const user = normalizeUserName(cmd.user);
    const sent = await engine.sendDirect(user, cmd.text);
    const roomId = dmRoom(engine.user!, user);
    return { user, room: roomId, roomId, messageId: sent.id, sentAt: sent.sentAt, recipients: sent.recipients };
  },
  // The schema allows both or neither of room and user; the engine says which it needs.
  history: (engine, cmd) => engine.history({ room: cmd.room, user: cmd.user }, { before: cmd.before, after: cmd.after, around: cmd.around, limit: cmd.limit }),
  outbox: (engine) => engine.outbox(),
  // Each names its conversation as history does: room, or user for the direct one.
  reply: (engine, cmd) => engine.reply({ room: cmd.room, user: cmd.user }, cmd.to, cmd.text),
  react: (engine, cmd) => engine.react({ room: cmd.room, user: cmd.user }, cmd.messageId, cmd.emoji, cmd.on ?? true),
  edit: (engine, cmd) => engine.edit({ room: cmd.room, user: cmd.user }, cmd.messageId, cmd.text),
  delete: (engine, cmd) => engine.deleteMessage({ room: cmd.room, user: cmd.user }, cmd.messageId),
  mark_read: (engine, cmd) => engine.markRead({ room: cmd.room, user: cmd.user }, cmd.upTo),
  search: (engine, cmd) => engine.search(cmd.query, { ...(cmd.room !== undefined ? { room: cmd.room } : {}), ...(cmd.limit !== undefined ? { limit: cmd.limit } : {}) }),
  async typing(engine, cmd) {
    engine.typing(cmd.room, cmd.active);
    return {};
  },
  // Fetches a key never seen (pinned unverified, like a first message); never marks it verified.
  fingerprint: (engine, cmd) => engine.lookupFingerprint(cmd.user),
  verify: (engine, cmd) => engine.verify(cmd.user, cmd.fingerprint),
  async help() {
    return { commands: COMMANDS.map(({ name, json, about }) => ({ cmd: name, fields: json, about })) };
  },
  async exit() {
    return {};
  },
};

/**
 * Runs one command on the engine and returns its result, typed by the command's name
 * (protocol/client.ts CommandResults). Throws on failure; `describeError` turns that into a code
 * and a message.
 */
export function runCommand<K extends ClientCommandName>(engine: ChatEngine, cmd: CommandOf<K> & { cmd: K }): Promise<CommandResults[K]> {
  const handler: Handlers[K] = HANDLERS[cmd.cmd];
  return handler(engine, cmd);
}

/** Whether the data folder holds a saved session (resume token and keys) for `user`. */
export function hasSavedSession(engine: ChatEngine, user: string): boolean {
  return engine.data.account(user)?.user === user;
}

/** Any failure as a stable code and a message that says what to do. */
export function describeError(err: unknown, engine: ChatEngine): CommandFailure {
  const address = engine.trackerAddress;
  const e = err as { code?: unknown } | undefined;
  const message = err instanceof Error ? err.message : String(err);
  // Only declared codes are passed on; anything else (a library's code) is `internal`.
  const code = isCoded(err) ? err.code : isDeclaredCode(e?.code) ? e.code : undefined;
  if (code === 'tracker.fingerprint_mismatch') {
    return {
      code,
      message: `${message}\nThe terminal client keeps its pins in ${engine.data.root}/known-trackers.json: delete the "${address}" entry there to trust the new certificate.`,
    };
  }
  if (code === 'tracker.untrusted') {
    return { code, message: `${message}; run the command again and answer y to trust it` };
  }
  // Node's socket errors carry errno names as `code`: those mean the tracker is out of reach.
  const networkError = code === undefined && typeof e?.code === 'string' && NETWORK_ERRORS.has(e.code);
  if (code === 'tracker.unreachable' || networkError) {
    return {
      code: 'tracker.unreachable',
      message: `cannot reach the tracker at ${address} (${message}): start it with \`node tracker\`, or give its address with --tracker HOST:PORT`,
    };
  }
  return { code: code ?? 'internal', message };
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

function roomName(ref: string): string {
  try {
    return normalizeRoomName(ref);
  } catch {
    return ref;
  }
}

/** The pinned fingerprint where there is one, and the tracker's only when it disagrees (ChatEngine.listPeers). */
function peerRow(p: PeerRow): PeerRow {
  return {
    user: p.user,
    online: p.online,
    ...(p.address ? { address: p.address } : {}),
    ...(p.port ? { port: p.port } : {}),
    fingerprint: p.fingerprint,
    pinned: p.pinned,
    verified: p.verified,
    ...(p.changedTo ? { changedTo: p.changedTo } : {}),
    ...(p.trackerFingerprint ? { trackerFingerprint: p.trackerFingerprint } : {}),
    ...(p.devices ? { devices: p.devices.map((d) => ({ device: d.device, address: d.address, port: d.port, online: d.online })) } : {}),
  };
}
