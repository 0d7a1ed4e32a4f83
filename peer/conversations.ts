// What a room reference means: one `Conversation` value (a room we are in, or a direct
// conversation with one user) used by sending and by every inbound check. Rooms come from the
// verified logs (room-book.ts); a direct conversation's membership is fixed by its id. Values are
// cached per room state, so a burst of messages reuses one member list instead of building one each.

import { ProtocolError } from '../protocol/errors.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { DM_HEAD, dmRoom, isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { RoomEvent, RoomHead, RoomState } from '../protocol/room-log.ts';
import type { RoomBook } from './room-book.ts';

export interface Conversation {
  id: ConversationId;
  /** The room's name, or the id for a direct conversation. */
  name: string;
  direct: boolean;
  /** Current members (both users of a direct conversation). */
  members: string[];
  head: RoomHead;
  forked: boolean;
}

/** A membership's end (Conversations.departure). */
export interface Departure {
  /** The leave's or kick's log seq. */
  seq: number;
  /**
   * 'leave': `sent` is the leaver's own word (a modified client may name more than it sent, so
   * what it names is taken only from others: room-messages); 'kick': the owner's, of what they held.
   */
  by: 'leave' | 'kick';
  sent?: Map<string, number>;
}

export class Conversations {
  private readonly cache = new Map<ConversationId, { state?: RoomState; forked: boolean; value: Conversation }>();
  private readonly departures = new Map<ConversationId, { state: RoomState; byUser: Map<string, Departure[]> }>();

  /** `me()` is the logged-in user (throws 'auth.required' when none). */
  constructor(
    private readonly rooms: RoomBook,
    private readonly me: () => string,
  ) {}

  /**
   * A conversation to act in, by room id, room name or `dm:<a>:<b>`. Throws 'room.not_found' when
   * it is not one of mine (a room I am not in, a closed one, someone else's direct conversation).
   */
  resolve(ref: string): Conversation {
    if (isDmRoom(ref)) {
      const dm = this.direct(ref);
      if (!dm) throw new ProtocolError('room.not_found', `${ref} is not one of your direct conversations`);
      return dm;
    }
    let room = this.rooms.get(ref);
    if (!room) {
      let name: string;
      try {
        name = normalizeRoomName(ref);
      } catch {
        throw new ProtocolError('room.not_found', `there is no room named ${ref}`);
      }
      room = this.rooms.byName(name);
    }
    const found = room && this.find(room.id);
    if (!found || !room!.state.members.has(this.me()) || room!.state.closed) {
      throw new ProtocolError('room.not_found', `you are not in a room named ${ref}; join_room first (list_rooms shows the rooms)`);
    }
    return found;
  }

  /**
   * The conversation a command names: `room` (id or name) or `user` (the direct conversation with
   * me), exactly one. A room left or closed is still found by id while `stored(id)` (its history
   * stays readable), named `nameOf(id)`. Throws 'room.not_found', 'request.invalid'.
   */
  target(target: { room?: string; user?: string }, stored: (id: string) => boolean, nameOf: (id: string) => string | undefined): Conversation {
    if (target.room !== undefined && target.user === undefined) {
      try {
        return this.resolve(target.room);
      } catch (err) {
        if (!stored(target.room)) throw err;
        return { id: target.room, name: nameOf(target.room) ?? target.room, direct: false, members: [], head: { seq: 0, hash: '' }, forked: false };
      }
    }
    if (target.user !== undefined && target.room === undefined) {
      const user = normalizeUserName(target.user);
      if (user === this.me()) throw new ProtocolError('request.invalid', 'you have no direct conversation with yourself');
      return this.resolve(dmRoom(this.me(), user));
    }
    throw new ProtocolError('request.invalid', 'name either a room or a user');
  }

  /** The conversation a peer's message names, by id; undefined when I hold no such room or it is not my direct conversation. */
  find(id: ConversationId): Conversation | undefined {
    if (isDmRoom(id)) return this.direct(id);
    const room = this.rooms.get(id);
    if (!room) return undefined;
    const forked = Boolean(room.forked);
    const cached = this.cache.get(id);
    if (cached && cached.state === room.state && cached.forked === forked) return cached.value;
    const value: Conversation = { id, name: room.state.name, direct: false, members: [...room.state.members.keys()], head: room.state.head, forked };
    this.cache.set(id, { state: room.state, forked, value });
    return value;
  }

  /**
   * Members at a log head that messages refer to (a session is made at one head and used until
   * membership changes); undefined when I do not hold that head.
   */
  membersAt(conversation: Conversation, head: RoomHead): string[] | undefined {
    if (conversation.direct) return head.seq === DM_HEAD.seq && head.hash === DM_HEAD.hash ? conversation.members : undefined;
    if (head.seq === conversation.head.seq && head.hash === conversation.head.hash) return conversation.members;
    const state = this.rooms.stateAt(conversation.id, head);
    return state ? [...state.members.keys()] : undefined;
  }

  /**
   * A member who left or was kicked could sign new sessions and messages at a head from before
   * that: being a member at the message's head is not enough, the sender must still be one in the
   * newest log held. Throws 'room.not_member'.
   */
  requireCurrentMember(conversation: Conversation, sender: string): void {
    if (!conversation.members.includes(sender)) {
      throw new ProtocolError('room.not_member', `refused a message from ${sender}: no longer a member of ${conversation.name}`);
    }
  }

  /**
   * How `user`'s membership that includes log head `head` of room `id` ended: the first leave (or
   * kick) of them after it, with its `sent` as session -> last seq (undefined in a log from before
   * `sent`). Undefined when they have not left since. Built once per room state (a catch-up of a
   * departed sender asks for every envelope).
   */
  departure(id: ConversationId, user: string, head: RoomHead): Departure | undefined {
    const room = this.rooms.get(id);
    if (!room) return undefined;
    let cached = this.departures.get(id);
    if (cached?.state !== room.state) {
      const byUser = new Map<string, Departure[]>();
      for (const e of room.events) {
        const who = e.type === 'leave' ? e.actor : e.type === 'kick' ? e.subject! : undefined;
        if (who === undefined) continue;
        let list = byUser.get(who);
        if (!list) byUser.set(who, (list = []));
        list.push({ seq: e.seq, by: e.type as Departure['by'], ...(e.sent ? { sent: new Map(e.sent.map((s) => [s.session, s.seq])) } : {}) });
      }
      this.departures.set(id, (cached = { state: room.state, byUser }));
    }
    return cached.byUser.get(user)?.find((d) => d.seq > head.seq);
  }

  /**
   * The log seq from which `user` has been a member without a break (their last join, or the
   * create for the owner); 0 for a direct conversation; undefined when they are not a member now.
   * What was sent before it is not for them (they may have left and come back).
   */
  memberSince(id: ConversationId, user: string): number | undefined {
    if (isDmRoom(id)) return this.direct(id)?.members.includes(user) ? 0 : undefined;
    const room = this.rooms.get(id);
    if (!room?.state.members.has(user)) return undefined;
    for (let i = room.events.length - 1; i >= 0; i--) {
      const e = room.events[i]!;
      if ((e.type === 'join' || e.type === 'create') && e.actor === user) return e.seq;
    }
    return undefined;
  }

  /**
   * Whether `user` was a member of room `id` right after its log event `seq` (any of their spans
   * of membership: one who left and came back was a member before too). False for a seq not held.
   */
  wasMemberAt(id: ConversationId, user: string, seq: number): boolean {
    const events = this.rooms.get(id)?.events ?? [];
    if (seq < 0 || seq >= events.length) return false;
    return membershipSpans(events, user, seq + 1).some((s) => seq >= s.from && seq < s.to);
  }

  /** Rooms (not direct conversations) both I and `user` are in. */
  sharedWith(user: string): ConversationId[] {
    const me = this.me();
    return this.rooms.all().filter((r) => r.state.members.has(user) && r.state.members.has(me)).map((r) => r.id);
  }

  /** Drops cached values (a room left or forgotten, a logout). */
  forget(id?: ConversationId): void {
    if (id === undefined) {
      this.cache.clear();
      this.departures.clear();
    } else {
      this.cache.delete(id);
      this.departures.delete(id);
    }
  }

  private direct(id: ConversationId): Conversation | undefined {
    const cached = this.cache.get(id);
    if (cached) return cached.value;
    const [, a, b] = id.split(':');
    if (!a || !b || dmRoom(a, b) !== id || (a !== this.me() && b !== this.me())) return undefined;
    const value: Conversation = { id, name: id, direct: true, members: [a, b], head: { ...DM_HEAD }, forked: false };
    this.cache.set(id, { forked: false, value });
    return value;
  }
}

/** Whether `env` is within what its sender's leave named (`sent`: session -> last seq). */
export function sentBefore(sent: ReadonlyMap<string, number> | undefined, env: { session: string; seq: number }): boolean {
  const last = sent?.get(env.session);
  return last !== undefined && env.seq <= last;
}

/**
 * `user`'s spans of membership in a room log's `events` before seq `before`: seq ranges [from, to),
 * each from a join (or the create) to their leave or kick, or to `before` while they are still in.
 */
export function membershipSpans(events: readonly RoomEvent[], user: string, before: number): { from: number; to: number }[] {
  const spans: { from: number; to: number }[] = [];
  for (const e of events.slice(0, before)) {
    if ((e.type === 'join' || e.type === 'create') && e.actor === user) spans.push({ from: e.seq, to: before });
    else if ((e.type === 'leave' && e.actor === user) || (e.type === 'kick' && e.subject === user)) {
      const open = spans.at(-1);
      if (open && open.to === before) open.to = e.seq;
    }
  }
  return spans;
}
