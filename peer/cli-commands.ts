// The terminal client's commands, run by one dispatcher for both of its modes (DESIGN.md
// "Terminal client"): interactive mode turns a typed line into a ClientCommand, `--json` mode
// parses one with clientCommandSchema (protocol/client.ts), and both get back the same result
// object or an error with a stable code. Prompts, printing and JSON framing live in the modes.

import { CLIENT_ERROR_CODES } from '../protocol/errors.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { ClientCommand, ClientCommandName, LinkRow, MemberRow, PeerRow, RoomRow } from '../protocol/client.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { dmRoom } from '../protocol/peer.ts';
import { PasswordPolicyError } from './account.ts';
import type { ChatEngine } from './engine.ts';
import { TrackerClosedError, TrackerFingerprintMismatch } from './tracker-connection.ts';

/**
 * Codes of the terminal client beyond protocol/errors.ts ERROR_CODES: failures that happen
 * before any tracker answer exists, so the tracker's codes cannot name them. Declared in protocol/.
 */
export const CLI_ERROR_CODES = CLIENT_ERROR_CODES;

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

export const COMMANDS: readonly CommandHelp[] = [
  { name: 'register', usage: 'register [USER]', json: 'user, password', about: 'create an account (a password of 15+ characters; interactive mode then logs in)' },
  { name: 'login', usage: 'login [USER]', json: 'user, password?', about: 'log in (asks for the password; without one, resumes the session saved here)' },
  { name: 'logout', usage: 'logout', json: '', about: 'log out and forget the saved session' },
  { name: 'list_peers', usage: 'list_peers', json: '', about: "everyone on the tracker, online or not, with the key pinned here (flagged when the tracker shows another)" },
  { name: 'list_rooms', usage: 'list_rooms', json: '', about: 'the rooms on the tracker' },
  { name: 'list_conn', usage: 'list_conn', json: '', about: 'the open peer links' },
  { name: 'create_room', usage: 'create_room NAME [--private]', json: 'room, private?, password?', about: 'create a room (--private asks for a room password)' },
  { name: 'join_room', usage: 'join_room NAME', json: 'room, password?', about: 'join a room (asks for the password of a private room)' },
  { name: 'leave_room', usage: 'leave_room NAME', json: 'room', about: 'leave a room' },
  { name: 'close_room', usage: 'close_room NAME', json: 'room', about: 'close a room for everyone (owner only)' },
  { name: 'kick', usage: 'kick ROOM USER', json: 'room, user', about: 'remove a member from a room (owner only)' },
  { name: 'members', usage: 'members ROOM', json: 'room', about: "a room's members, owner, presence and pinned keys (verified or not; flagged when the tracker shows another)" },
  { name: 'msg_room', usage: 'msg_room NAME [TEXT]', json: 'room, text', about: 'send to a room; without TEXT, chat mode until /quit' },
  { name: 'msg', usage: 'msg USER [TEXT]', json: 'user, text', about: 'send a direct message; without TEXT, chat mode until /quit' },
  { name: 'typing', usage: 'typing ROOM on|off', json: 'room, active', about: 'tell the room you are typing', jsonOnly: true },
  { name: 'fingerprint', usage: 'fingerprint [USER]', json: 'user?', about: "your key's fingerprint, or another user's (fetched if never seen; never marks anyone verified)" },
  { name: 'verify', usage: 'verify USER [FINGERPRINT]', json: 'user, fingerprint', about: 'mark a user verified with the fingerprint you compared out of band (without FINGERPRINT: shows the key pinned here and asks whether it matches); accepts a changed key' },
  { name: 'help', usage: 'help', json: '', about: 'this list' },
  { name: 'exit', usage: 'exit', json: '', about: 'close and quit (the session stays saved and resumes next time)' },
];

/** What a command answers. `id` and `ok` belong to the `--json` answer, so results never use them. */
export type CommandResult = Record<string, unknown> & { id?: never; ok?: never };

export interface CommandFailure {
  code: string;
  message: string;
}

/** Runs one command on the engine. Throws on failure; `describeError` turns that into a code and a message. */
export async function runCommand(engine: ChatEngine, cmd: ClientCommand): Promise<CommandResult> {
  switch (cmd.cmd) {
    case 'register': {
      const user = normalizeUserName(cmd.user);
      await engine.register(user, cmd.password);
      return { user };
    }
    case 'login': {
      const user = normalizeUserName(cmd.user);
      if (cmd.password !== undefined) {
        await engine.login(user, cmd.password);
        return { user: engine.user!, port: engine.peerPort, resumed: false };
      }
      if (engine.user) throw new ProtocolError('auth.already_authenticated', `already logged in as ${engine.user}; log out first`);
      // With one folder for everything (--data), the saved session may be another user's.
      if (!hasSavedSession(engine, user) || !(await engine.resume(user))) {
        throw new ProtocolError('auth.required', `no saved session for ${user} in ${engine.data.userDir(user)}: log in with the password`);
      }
      return { user: engine.user!, port: engine.peerPort, resumed: true };
    }
    case 'logout': {
      const user = engine.user;
      if (!user) throw new ProtocolError('auth.required', 'you are not logged in');
      await engine.logout();
      return { user };
    }
    case 'list_peers':
      return { peers: (await engine.listPeers()).map(peerRow) };
    case 'list_rooms': {
      const rooms: RoomRow[] = (await engine.listRooms())
        .filter((r) => !r.closed)
        .map((r) => ({ name: r.name, id: r.id, private: r.private, ...(r.owner ? { owner: r.owner } : {}), members: r.members, online: r.online, member: r.member }));
      return { rooms };
    }
    case 'list_conn': {
      const links: LinkRow[] = engine.listLinks();
      return { links };
    }
    case 'create_room': {
      const isPrivate = cmd.private ?? cmd.password !== undefined;
      if (isPrivate && !cmd.password) throw new ProtocolError('request.invalid', 'a private room needs a password');
      if (!isPrivate && cmd.password !== undefined) throw new ProtocolError('request.invalid', 'a password makes a room private: drop "private": false or the password');
      const { id, name } = await engine.createRoom(cmd.room, isPrivate ? { password: cmd.password! } : {});
      return { room: name, roomId: id, private: isPrivate };
    }
    case 'join_room': {
      const { id, name, members } = await engine.joinRoom(cmd.room, cmd.password);
      return { room: name, roomId: id, members };
    }
    case 'leave_room':
      await engine.leaveRoom(cmd.room);
      return { room: roomName(cmd.room) };
    case 'close_room':
      await engine.closeRoom(cmd.room);
      return { room: roomName(cmd.room) };
    case 'kick':
      await engine.kick(cmd.room, cmd.user);
      return { room: roomName(cmd.room), user: normalizeUserName(cmd.user) };
    case 'members': {
      const members: MemberRow[] = engine.members(cmd.room);
      return { room: roomName(cmd.room), members };
    }
    case 'msg_room': {
      const sent = await engine.sendRoom(cmd.room, cmd.text);
      return { room: roomName(cmd.room), messageId: sent.id, sentAt: sent.sentAt, recipients: sent.recipients };
    }
    case 'msg': {
      const user = normalizeUserName(cmd.user);
      const sent = await engine.sendDirect(user, cmd.text);
      return { user, room: dmRoom(engine.user!, user), messageId: sent.id, sentAt: sent.sentAt, recipients: sent.recipients };
    }
    case 'typing':
      engine.typing(cmd.room, cmd.active);
      return {};
    case 'fingerprint':
      // Fetches a key never seen (pinned unverified, like a first message); never marks it verified.
      return { ...(await engine.lookupFingerprint(cmd.user)) };
    case 'verify':
      return { ...(await engine.verify(cmd.user, cmd.fingerprint)) };
    case 'help':
      return { commands: COMMANDS.map(({ name, json, about }) => ({ cmd: name, fields: json, about })) };
    case 'exit':
      return {};
    default: {
      const missing: never = cmd;
      throw new ProtocolError('request.unknown_type', `unknown command ${JSON.stringify((missing as { cmd: unknown }).cmd)}`);
    }
  }
}

/** Whether the data folder holds a saved session (resume token and keys) for `user`. */
export function hasSavedSession(engine: ChatEngine, user: string): boolean {
  return engine.data.account(user)?.user === user;
}

/** Any failure as a stable code and a message that says what to do. */
export function describeError(err: unknown, engine: ChatEngine): CommandFailure {
  const address = engine.trackerAddress;
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  if (err instanceof PasswordPolicyError) return { code: CLI_ERROR_CODES.weakPassword, message: err.message };
  if (err instanceof TrackerFingerprintMismatch) {
    return {
      code: CLI_ERROR_CODES.fingerprintMismatch,
      message: `${err.message}\nThe terminal client keeps its pins in ${engine.data.root}/known-trackers.json: delete the "${address}" entry there to trust the new certificate.`,
    };
  }
  const e = err as NodeJS.ErrnoException & { code?: unknown };
  const message = e instanceof Error ? e.message : String(err);
  if (/^you did not trust the tracker/.test(message)) {
    return { code: CLI_ERROR_CODES.untrusted, message: `${message}; run the command again and answer y to trust it` };
  }
  if (err instanceof TrackerClosedError || (typeof e?.code === 'string' && NETWORK_ERRORS.has(e.code)) || /could not reach the tracker/.test(message)) {
    return {
      code: CLI_ERROR_CODES.unreachable,
      message: `cannot reach the tracker at ${address} (${message}): start it with \`node tracker\`, or give its address with --tracker HOST:PORT`,
    };
  }
  if (typeof e?.code === 'string' && /^[a-z_]+(\.[a-z_]+)?$/.test(e.code)) return { code: e.code, message };
  return { code: 'internal', message };
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
  };
}
