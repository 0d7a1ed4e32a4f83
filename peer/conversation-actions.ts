// The engine's commands on messages (issue 12): reply, react, edit, delete, read receipts, one
// message's state, read receipts held, and search. Each action is a message of its conversation
// sent like any other (room-messages.ts send), so it reaches members who are away the same way;
// checked here first for a clear answer, and by every receiver again (message-actions.ts).

import type { CommandResults, HistoryMessage, SearchResult } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { MAX_EDITS_NAMED, MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER, SEARCH_LIMITS, canonicalEmoji, type MessageAction } from '../protocol/message-actions.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { dmRoom, isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { Conversation } from './conversations.ts';
import type { ReadPosition, StoredMessage } from './history.ts';
import { SentSessions } from './sent-sessions.ts';
import type { Signed } from './signed-session.ts';

export type Target = { room?: string; user?: string };

/** Read receipts listed for a room I left (its members are not known any more). */
const MAX_READERS_LEFT_ROOM = 1000;

/** How a conversation is named when it is not one of mine now (a room left: its history stays). */
export type NameOf = (id: string) => string | undefined;

/** The conversation to act in: a current one of mine (throws 'room.not_found', 'request.invalid'). */
function current(s: Signed, target: Target): Conversation {
  return s.conversations.target(target, () => false, () => undefined);
}

/** A conversation to read: a current one, or one left whose history is kept. */
function readable(s: Signed, target: Target, nameOf: NameOf): Conversation {
  return s.conversations.target(target, (id) => s.store.history.count(id) > 0, nameOf);
}

/** Message `id` of `conversation`, shown (not an action row). Throws 'message.not_found', and 'message.deleted' unless `deletedOk`. */
function shownMessage(s: Signed, conversation: Conversation, id: string, deletedOk = false): StoredMessage {
  const m = s.store.history.get(conversation.id, id);
  if (!m || m.action) throw new ProtocolError('message.not_found', `there is no message ${id} in ${conversation.name}; take the id from history or a message event`);
  if (!deletedOk && s.actions.deleted(m)) throw new ProtocolError('message.deleted', `message ${id} in ${conversation.name} was deleted by its author`);
  return m;
}

async function act(s: Signed, conversation: Conversation, action: MessageAction, text = '', notBefore?: number): Promise<CommandResults['react']> {
  const sent = await s.messages.send(conversation, text, undefined, { action, ...(notBefore !== undefined ? { notBefore } : {}) });
  return { room: conversation.name, roomId: conversation.id, messageId: sent.id, sentAt: sent.sentAt, recipients: sent.recipients };
}

/** engine.ts reply. */
export async function reply(s: Signed, target: Target, to: string, text: string): Promise<CommandResults['reply']> {
  const conversation = current(s, target);
  shownMessage(s, conversation, to);
  const sent = await s.messages.send(conversation, text, undefined, { replyTo: to });
  return { room: conversation.name, roomId: conversation.id, messageId: sent.id, sentAt: sent.sentAt, recipients: sent.recipients };
}

/**
 * The time my next `kind` action on message `of` is dated at least: after my newest one this
 * device holds (sent from here or from another device of mine). "Latest wins" goes by the signed
 * time (action rows keep it; only shown messages are placed by arrival, peer/timeline-time.ts),
 * so a device whose clock is behind another of mine would otherwise date its later change
 * earlier, and lose. For a reaction, after my newest reaction on that message of any emoji: my
 * reactions on it are then in the order I made them, which is also what the per-user cap replays.
 */
function after(s: Signed, conversation: Conversation, of: string, kind: 'react' | 'edit'): number | undefined {
  const latest = s.store.history.latestActionTime(conversation.id, of, kind, s.user);
  return latest === undefined ? undefined : latest + 1;
}

/** engine.ts react: `emoji` in its canonical form (look-alikes are one reaction). */
export async function react(s: Signed, target: Target, of: string, emoji: string, on: boolean): Promise<CommandResults['react']> {
  const canonical = canonicalEmoji(emoji);
  if (canonical === undefined) throw new ProtocolError('request.invalid', 'a reaction must be one emoji (no text)');
  const conversation = current(s, target);
  const m = shownMessage(s, conversation, of);
  if (on) {
    // Refused here with words; every receiver ignores the same (peer/message-actions.ts tally).
    const mine = s.actions.reactionsBy(m, s.user);
    if (!mine.has(canonical) && mine.size >= MAX_REACTIONS_PER_USER) {
      throw new ProtocolError('request.invalid', `you have ${MAX_REACTIONS_PER_USER} reactions on that message already, the most one member may; take one back first`);
    }
    const shown = s.actions.reactionsOf(m);
    if (!shown.some((r) => r.emoji === canonical) && shown.length >= MAX_REACTIONS_PER_MESSAGE) {
      throw new ProtocolError('request.invalid', `that message has ${MAX_REACTIONS_PER_MESSAGE} different reactions already, the most one message shows; add to one of them instead`);
    }
  }
  return act(s, conversation, { t: 'react', of, emoji: canonical, on }, '', after(s, conversation, of, 'react'));
}

/** engine.ts edit. */
export async function edit(s: Signed, target: Target, of: string, text: string): Promise<CommandResults['edit']> {
  const conversation = current(s, target);
  const m = shownMessage(s, conversation, of);
  if (m.from !== s.user) throw new ProtocolError('message.not_author', `message ${of} is ${m.from}'s: you can edit only your own messages`);
  // A delete names every edit of its message (members who were away close those holes), and it
  // names at most MAX_EDITS_NAMED: more edits would leave them a gap for ever.
  const edits = s.store.history.actionsOn(conversation.id, of, ['edit'], { from: s.user, limit: MAX_EDITS_NAMED }).length;
  if (edits >= MAX_EDITS_NAMED) {
    throw new ProtocolError('request.invalid', `you have edited that message ${MAX_EDITS_NAMED} times, the most one message may be; send a new message instead`);
  }
  const newcomers = joinedSince(s, conversation, m);
  if (newcomers.length) {
    throw new ProtocolError('request.invalid', `${newcomers.slice(0, 5).join(', ')}${newcomers.length > 5 ? ` and ${newcomers.length - 5} more` : ''} joined ${conversation.name} after this message: an edit goes to everyone in the room now and would show them its new text; delete it and send a new message instead`);
  }
  return act(s, conversation, { t: 'edit', of }, text, after(s, conversation, of, 'edit'));
}

/**
 * Members of room `conversation` now who were not given message `m`'s key (not members when its
 * session began: they joined after it): an edit goes in the current session, which they read, with
 * the new text of a message that was never theirs. One who was a member then, left and came back,
 * had it. Its session's head is known for what I sent (sent_sessions, or the held bundle); else
 * the last log event dated (signed) no later than the message stands for it.
 */
function joinedSince(s: Signed, conversation: Conversation, m: StoredMessage): string[] {
  if (conversation.direct) return [];
  const head = new SentSessions(s.store.db).headOf(conversation.id, m.session) ?? s.store.held.bundle(conversation.id, m.from, m.session)?.head;
  const events = s.rooms.get(conversation.id)?.events ?? [];
  let at = head?.seq ?? -1;
  if (!head) for (const e of events) if (e.time <= m.sentAt) at = e.seq;
  return conversation.members.filter((u) => u !== s.user && !s.conversations.wasMemberAt(conversation.id, u, at));
}

/** engine.ts deleteMessage. */
export async function deleteMessage(s: Signed, target: Target, of: string): Promise<CommandResults['delete']> {
  const conversation = current(s, target);
  const m = shownMessage(s, conversation, of, true);
  if (m.from !== s.user) throw new ProtocolError('message.not_author', `message ${of} is ${m.from}'s: you can delete only your own messages`);
  // Once is enough: the delete waits in the outbox for whoever has not had it.
  if (s.actions.deleted(m)) throw new ProtocolError('message.deleted', `message ${of} in ${conversation.name} is deleted already`);
  return act(s, conversation, { t: 'delete', of });
}

/** engine.ts markRead. */
export async function markRead(s: Signed, target: Target, upTo: string): Promise<CommandResults['mark_read']> {
  const conversation = current(s, target);
  shownMessage(s, conversation, upTo, true);
  // What I had up to there: a message that reaches me later (one overtaken on the way too) is not
  // counted seen by me (History.heldUpTo).
  const hole = (sender: string, session: string, seq: number) => s.store.held.holeBelow(conversation.id, sender, session, seq);
  return act(s, conversation, { t: 'read', upTo, had: s.store.history.heldUpTo(conversation.id, upTo, s.user, hole) });
}

/** engine.ts message: one shown message with its state, or undefined. */
export function message(s: Signed, target: Target, id: string, nameOf: NameOf): HistoryMessage | undefined {
  const conversation = readable(s, target, nameOf);
  const m = s.store.history.get(conversation.id, id);
  if (!m || m.action) return undefined;
  return s.messages.row(m, s.actions.stateOf(m));
}

/**
 * engine.ts reads: each member's read position, the furthest message their receipts name (members
 * now only, when the conversation is current), with `mine` (History.reads): how far it counts for
 * my messages.
 */
export function reads(s: Signed, target: Target, nameOf: NameOf): ReadPosition[] {
  const conversation = readable(s, target, nameOf);
  const members = conversation.members;
  // Bounded by members; a room left (no member list now) by a room's worth of senders.
  if (members.length) return s.store.history.reads(conversation.id, { users: members, limit: members.length, me: s.user });
  return s.store.history.reads(conversation.id, { limit: MAX_READERS_LEFT_ROOM, me: s.user });
}

/**
 * engine.ts search. Throws 'room.not_member' for a `room` I am not in now (left, closed with its
 * history kept, never joined: the index holds only my current conversations, so an answer there
 * would be an empty one that means nothing), 'room.not_found' for one that is neither a room
 * known to me (`known`: the tracker's directory) nor a user I have a direct conversation with.
 */
export async function search(s: Signed, query: string, opts: { room?: string; limit?: number }, nameOf: NameOf, known: KnownRoom = () => undefined): Promise<CommandResults['search']> {
  let conversation: ConversationId | undefined;
  if (opts.room !== undefined) conversation = searchScope(s, opts.room, nameOf, known);
  const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? SEARCH_LIMITS.defaultResults)), SEARCH_LIMITS.maxResults);
  // While the index is still being built after sign-in, wait for its slices instead of finishing
  // the build in one go here (seconds with the event loop held at 100,000 messages).
  await s.search.warm();
  const hits = s.search.search(query, { ...(conversation !== undefined ? { conversation } : {}), limit });
  const results: SearchResult[] = hits.map((h) => ({ room: displayName(s, h.conversation, nameOf), roomId: h.conversation, id: h.id, from: h.from, text: h.text, sentAt: h.sentAt }));
  // A full index dropped messages (the oldest of the largest sender in the largest conversation first): the answer says from when it looked at every one, in this conversation when one.
  const searchedFrom = s.search.searchedFrom(conversation);
  return { results, ...(searchedFrom !== undefined ? { searchedFrom } : {}) };
}

/** A room the tracker told of, by id or normalized name: its name and id; undefined when none. */
export type KnownRoom = (ref: string) => { id: string; name: string } | undefined;

/** A search's `room`: a room I am in (name or id), a `dm:` id of mine, or a user I have messages with. */
function searchScope(s: Signed, ref: string, nameOf: NameOf, known: KnownRoom): ConversationId {
  try {
    return s.conversations.resolve(ref).id;
  } catch (err) {
    let user: string | undefined;
    try {
      user = normalizeUserName(ref);
    } catch {
      user = undefined;
    }
    const dm = user !== undefined && user !== s.user ? dmRoom(s.user, user) : undefined;
    if (dm !== undefined && s.store.history.count(dm) > 0) return dm;
    const room = roomNotIn(s, ref, nameOf, known);
    if (room) {
      const how = room.left ? 'no longer a member; its history stays readable' : `join_room ${room.name} first`;
      throw new ProtocolError('room.not_member', `you are not in #${room.name}: search looks only in the rooms you are in (${how})`);
    }
    // A user I have never exchanged a message with: nothing to search, and maybe no such user.
    if (dm !== undefined) throw new ProtocolError('room.not_found', `there is no room named ${ref} and no messages with a user named ${ref} to search`);
    throw err;
  }
}

/** The room `ref` names (id or name) when it is one I am not in now: held or its history kept (left, closed), or one the tracker lists. */
function roomNotIn(s: Signed, ref: string, nameOf: NameOf, known: KnownRoom): { name: string; left: boolean } | undefined {
  if (isDmRoom(ref)) return undefined;
  let name: string | undefined;
  try {
    name = normalizeRoomName(ref);
  } catch {
    name = undefined;
  }
  const held = s.rooms.get(ref) ?? (name !== undefined ? s.rooms.byName(name) : undefined);
  const left = held !== undefined || s.store.history.count(ref) > 0;
  if (held) return { name: held.state.name, left };
  const listed = known(ref) ?? (name !== undefined ? known(name) : undefined);
  if (listed) return { name: listed.name, left: left || s.store.history.count(listed.id) > 0 };
  if (left) return { name: nameOf(ref) ?? ref, left };
  return undefined;
}

/** A conversation as people call it: the room's name, or the other person for a direct one. */
export function displayName(s: Signed, id: ConversationId, nameOf: NameOf): string {
  if (isDmRoom(id)) {
    const [, a, b] = id.split(':');
    return a === s.user ? (b ?? id) : (a ?? id);
  }
  return s.conversations.find(id)?.name ?? nameOf(id) ?? id;
}
