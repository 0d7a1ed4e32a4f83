// What a user does to rooms (DESIGN.md "Rooms"): create, join (by id, or by name with one
// filtered list), leave, kick, close. Each is my own signed event appended on the current head
// (room-sync.ts re-signs when another won the race); a private room's password is checked
// against the log's earlier join proofs before anything is sent.

import { randomBytes, toBase64Url } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { deriveRoomPasswordKeys, joinProof, signRoomEvent, type RoomEvent, type UnsignedRoomEvent } from '../protocol/room-log.ts';
import type { RoomSummary } from '../protocol/tracker.ts';
import type { ScryptParams, UserKeys } from './account.ts';
import type { Conversations } from './conversations.ts';
import type { RoomBook } from './room-book.ts';
import type { RoomDirectory } from './room-directory.ts';
import type { RoomSync } from './room-sync.ts';
import type { TrackerSession } from './tracker-session.ts';

/** A room id: the base64url SHA-256 of its create event. */
const ROOM_ID = /^[A-Za-z0-9_-]{43}$/;

export interface RoomCommandParts {
  me: { user: string; keys: UserKeys };
  rooms: RoomBook;
  conversations: Conversations;
  sync: RoomSync;
  directory: RoomDirectory;
  tracker: Pick<TrackerSession, 'request' | 'listRooms' | 'roomLog'>;
  now: () => number;
  scryptParams?: ScryptParams;
  /** A room I left: forget it here. */
  left: (id: string) => void;
  /** How many of my messages in room `id` reached no member yet (peer/outbox.ts unreached). */
  unreached: (id: string) => number;
  /** My messages in room `id` still waiting for a member, and whom they wait for (peer/outbox.ts waitingIn). */
  waiting: (id: string) => { messages: number; users: string[]; more: number };
  /** What `user` has sent in room `id`, as held here, for a leave or kick (protocol/room-log.ts `sent`). */
  sent: (id: string, user: string) => { session: string; seq: number }[];
  persist: () => void;
}

export class RoomCommands {
  constructor(private readonly parts: RoomCommandParts) {}

  /** Creates a room (private with a password). Throws the tracker's 'room.name_taken', 'quota.exceeded'. */
  async create(rawName: string, opts: { password?: string } = {}): Promise<{ id: string; name: string }> {
    const { me, now } = this.parts;
    const name = normalizeRoomName(rawName);
    const salt = toBase64Url(randomBytes(16));
    const isPrivate = opts.password !== undefined;
    if (isPrivate && !opts.password) throw new ProtocolError('request.invalid', 'a private room needs a password');
    const unsigned: UnsignedRoomEvent = { v: 1, room: '', seq: 0, prev: '', type: 'create', actor: me.user, time: now(), name, private: isPrivate, salt };
    const event = signRoomEvent(unsigned, me.keys.signing.privateKey);
    const pw = isPrivate ? await deriveRoomPasswordKeys(opts.password!, salt, this.parts.scryptParams) : undefined;
    const { room } = await this.parts.tracker.request('create_room', { event, ...(pw ? { check: pw.check } : {}) });
    this.parts.directory.update([room]);
    await this.parts.rooms.apply([event], pw?.proofKey);
    this.parts.persist();
    return { id: room.id, name };
  }

  /**
   * Joins a room by id (one `room_log`, which names it: no `list_rooms`) or by name (one
   * `list_rooms` with the name filter). Throws 'room.not_found', 'room.already_member',
   * 'room.bad_password'.
   */
  async join(ref: string, password?: string): Promise<{ id: string; name: string; members: string[] }> {
    const { me, rooms } = this.parts;
    const { summary, events } = await this.find(ref);
    const name = summary.name;
    if (summary.member) throw new ProtocolError('room.already_member', `you are already in ${name}`);
    if (summary.private && !password) throw new ProtocolError('room.bad_password', `${name} is private: give its password`);
    const create = events[0];
    const pw = summary.private ? await deriveRoomPasswordKeys(password!, create.salt!, this.parts.scryptParams) : undefined;
    // The log's earlier private joins carry proofs under the password's key: a wrong password
    // fails here, before anything is sent.
    rooms.forget(summary.id);
    try {
      await rooms.apply(events, pw?.proofKey);
    } catch (err) {
      rooms.forget(summary.id);
      if (err instanceof ProtocolError && err.code === 'room.bad_password') throw new ProtocolError('room.bad_password', `wrong password for ${name}`);
      throw err;
    }
    try {
      await this.parts.sync.appendOwn(summary.id, (head) => {
        const unsigned: UnsignedRoomEvent = { v: 1, room: summary.id, seq: head.seq + 1, prev: head.hash, type: 'join', actor: me.user, time: this.parts.now() };
        return pw ? { ...unsigned, proof: joinProof(unsigned, pw.proofKey) } : unsigned;
      }, pw?.check);
    } catch (err) {
      rooms.forget(summary.id);
      throw err;
    }
    const { state } = rooms.get(summary.id)!;
    return { id: summary.id, name, members: [...state.members.keys()] };
  }

  /**
   * Leaves a room. My messages there that reached a member spread to the others in catch-up
   * after I left; those that reached nobody yet (everyone else offline, no mailbox) go with my
   * outbox, so without `force` the leave is refused while there are any: 'room.undelivered'.
   */
  async leave(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const { me } = this.parts;
    const { id, name } = this.parts.conversations.resolve(ref);
    const unreached = this.parts.unreached(id);
    if (unreached > 0 && !opts.force) {
      const [them, it] = unreached === 1 ? ['1 of your messages there has', 'it'] : [`${unreached} of your messages there have`, 'them'];
      throw new ProtocolError('room.undelivered', `you are still in ${name}: ${them} not reached any member yet (they are offline) and would be lost if you left now; wait until a member has ${it}, or leave anyway and lose ${it}`);
    }
    // Named so that members take and forward what I sent (however long they were away), and nothing
    // signed later: a retry after a lost race names it again (the append rebuilds the event).
    await this.parts.sync.appendOwn(id, (head) => ({ v: 1, room: id, seq: head.seq + 1, prev: head.hash, type: 'leave', actor: me.user, time: this.parts.now(), sent: this.parts.sent(id, me.user) }));
    this.parts.left(id);
  }

  /** Throws 'room.not_owner', 'room.not_member'. */
  async kick(ref: string, rawUser: string): Promise<void> {
    const { me } = this.parts;
    const subject = normalizeUserName(rawUser);
    const { id, state } = this.owned(ref, 'kick');
    if (!state.members.has(subject)) throw new ProtocolError('room.not_member', `${subject} is not in ${state.name}`);
    // What I hold of theirs is what members may still take and forward after the kick.
    await this.parts.sync.appendOwn(id, (head) => ({ v: 1, room: id, seq: head.seq + 1, prev: head.hash, type: 'kick', actor: me.user, subject, time: this.parts.now(), sent: this.parts.sent(id, subject) }));
  }

  /**
   * Closes a room for everyone. Every device then forgets its log and keys, so what has not
   * reached a member by then never will (a delete included: they keep the text); without `force`
   * the close is refused while my messages there wait for anyone: 'room.undelivered'. Throws
   * 'room.not_owner'.
   */
  async close(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const { me } = this.parts;
    const { id, state } = this.owned(ref, 'close it');
    const waiting = this.parts.waiting(id);
    if (waiting.messages > 0 && !opts.force) {
      const them = waiting.messages === 1 ? '1 of your messages there has' : `${waiting.messages} of your messages there have`;
      const who = `${waiting.users.join(', ')}${waiting.more ? ` and ${waiting.more} more` : ''}`;
      throw new ProtocolError('room.undelivered', `${state.name} is still open: ${them} not reached ${who} yet and never will once it is closed (for a delete: they would keep the text); wait until they have come online, or close it anyway`);
    }
    await this.parts.sync.appendOwn(id, (head) => ({ v: 1, room: id, seq: head.seq + 1, prev: head.hash, type: 'close', actor: me.user, time: this.parts.now() }));
  }

  private owned(ref: string, what: string) {
    const { id } = this.parts.conversations.resolve(ref);
    const room = this.parts.rooms.get(id)!;
    if (room.state.owner !== this.parts.me.user) throw new ProtocolError('room.not_owner', `only the owner of ${room.state.name} (${room.state.owner}) can ${what}`);
    return room;
  }

  /** A room's summary and log, by id or by name. Throws 'room.not_found'. */
  private async find(ref: string): Promise<{ summary: RoomSummary; events: RoomEvent[] }> {
    if (ROOM_ID.test(ref)) {
      const { room, events } = await this.parts.tracker.roomLog(ref, 0);
      this.parts.directory.update([room]);
      if (room.closed) throw new ProtocolError('room.not_found', `${room.name} was closed`);
      return { summary: room, events };
    }
    const name = normalizeRoomName(ref);
    // One room by name, not every page of every room.
    const [summary] = await this.parts.tracker.listRooms({ name });
    if (!summary) throw new ProtocolError('room.not_found', `there is no room named ${name}; list_rooms shows the rooms`);
    this.parts.directory.update([summary]);
    return { summary, events: (await this.parts.tracker.roomLog(summary.id, 0)).events };
  }
}
