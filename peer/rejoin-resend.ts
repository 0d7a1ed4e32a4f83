// A member who rejoins a room gets what I changed of my messages while they were out. A delete or
// edit I made then was sealed in a session made while they were not a member: they never get its
// key (rightly: a newcomer must not read what came before), and catch-up cannot serve it to them.
// So their device kept the deleted text (DESIGN.md: a delete removes the text from every member's
// store) and the old text of an edited message. When this device applies the `join` of a user who
// was in the room before (an earlier leave or kick of theirs is in the log), it sends again, in the
// room's current session (which they get the key of), for each of my messages they may hold (made
// in a session whose key they were given: its log head had them as a member), my delete, or for a
// message not deleted my latest edit with the same text. Members who had them already show nothing
// new (peer/message-actions.ts: a second delete, or an edit that leaves the text as it was, tells
// nothing). Each rejoin is handled once per device, also across restarts (`rejoins_handled`, store
// step 7); one left half done (a restart, a send that failed) is done again, and receivers take a
// second copy as they take any.

import { MAX_EDITS_NAMED, type MessageAction } from '../protocol/message-actions.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { RoomEvent, RoomHead } from '../protocol/room-log.ts';
import { membershipSpans, type Conversation, type Conversations } from './conversations.ts';
import type { HeldEnvelopes } from './held-envelopes.ts';
import type { History } from './history.ts';
import type { MessageActions } from './message-actions.ts';
import type { RoomBook } from './room-book.ts';
import type { SentSessions } from './sent-sessions.ts';
import type { StoreDb } from './store-db.ts';

/**
 * Actions sent again per rejoin, at most (my newest changes first). Each is a message to every
 * member, and a member may leave and rejoin as often as the tracker lets them (joins per room per
 * day): without a bound each rejoin could make every author send thousands. 200 is far more than
 * one person deletes or edits in a room while someone is away; older changes stay as they were on
 * the rejoining member's device (their old text, which they had read).
 */
export const MAX_RESENT_PER_REJOIN = 200;
/**
 * Messages of mine with deletes or edits looked at per rejoin (newest changes first) to find the
 * MAX_RESENT_PER_REJOIN the member may hold: read from clear columns, a row opened only when sent.
 */
export const MAX_LOOKED_AT_PER_REJOIN = 2000;

export interface RejoinResendParts {
  me: string;
  /** The store: which rejoins were handled. */
  db: Pick<StoreDb, 'write' | 'run' | 'get'>;
  /** Commits the store's turn now (a rejoin marked handled is on disk before the next is looked at). */
  commit: () => void;
  rooms: Pick<RoomBook, 'get' | 'all' | 'hashAt'>;
  conversations: Pick<Conversations, 'find'>;
  history: Pick<History, 'get' | 'actionsOn' | 'targetsActedOnBy'>;
  actions: Pick<MessageActions, 'deleted'>;
  /** Where my sessions began: recorded here, or a held bundle's head (a session of another device of mine, or made before step 7). */
  sessions: Pick<SentSessions, 'headOf'>;
  held: Pick<HeldEnvelopes, 'bundle'>;
  /** Sends an action in the conversation's current session (peer/room-messages.ts send). */
  send: (conversation: Conversation, text: string, extra: { action: MessageAction; notBefore?: number }) => Promise<unknown>;
  /** My clock (ms): when a re-send to a member finished (`rejoin_resent`). */
  now: () => number;
  report: (err: unknown) => void;
  /** Work under way: shutdown lets it finish briefly. */
  track: (work: Promise<void>) => void;
}

export class RejoinResend {
  /** One room's pass at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Rooms with a pass queued and not begun: a second ask is the same pass. */
  private readonly queued = new Set<ConversationId>();
  private closed = false;

  constructor(private readonly parts: RejoinResendParts) {}

  /**
   * At sign-in, with the rooms loaded and before any new event is applied: the first time (store
   * step 7 just ran) every room held is marked handled up to its head, so rejoins from before this
   * version are not handled (nothing was owed for them then); then every room is checked, so a
   * rejoin applied before a restart and not handled yet is handled now.
   */
  start(): void {
    const { db, rooms } = this.parts;
    if (!db.get(`SELECT 1 AS x FROM rejoins_handled WHERE room = ''`)) {
      db.write(() => {
        for (const room of rooms.all()) this.mark(room.id, room.state.head.seq);
        this.mark('', 0);
      });
      this.parts.commit();
    }
    for (const room of rooms.all()) this.check(room.id);
  }

  /** Room `id`'s log grew (a join was applied): its rejoins not handled yet are handled, after the passes queued before. */
  check(id: ConversationId): void {
    if (this.closed || isDmRoom(id) || this.queued.has(id)) return;
    this.queued.add(id);
    const run = this.queue.then(() => {
      this.queued.delete(id);
      return this.pass(id);
    }).catch((err) => this.parts.report(err));
    this.queue = run;
    this.parts.track(run);
  }

  /** Shutdown: no pass begins or sends again (one cut short is done again after the restart). */
  close(): void {
    this.closed = true;
  }

  /** The events of room `id` after those handled: each rejoin is handled, then marked so. */
  private async pass(id: ConversationId): Promise<void> {
    const room = this.parts.rooms.get(id);
    if (!room) return;
    const { events } = room;
    // Only events from my own (latest) join on: before it I was not there to have changed anything
    // for them, and a room rejoined is fetched again whole.
    let mine = -1;
    for (const e of events) if ((e.type === 'join' || e.type === 'create') && e.actor === this.parts.me) mine = e.seq;
    if (mine < 0) return;
    const from = Math.max(this.handled(id) ?? mine, mine) + 1;
    if (from >= events.length) return;
    // `events` grows as events are applied meanwhile: those are looked at in this pass too.
    for (let seq = from; seq < events.length; seq++) {
      const now = this.parts.rooms.get(id);
      if (this.closed || now !== room) return; // shut down, or the room left: not marked
      const e = events[seq]!;
      if (!this.rejoin(events, e, now.state.members)) continue;
      await this.resend(id, e.actor, seq);
      if (this.closed) return; // cut short: done again after the restart
      // On disk before the next: a restart does not send this one's again.
      this.parts.db.write(() => this.mark(id, seq));
      this.parts.commit();
    }
    if (this.closed || this.parts.rooms.get(id) !== room) return;
    this.parts.db.write(() => this.mark(id, events.length - 1));
    this.parts.commit();
  }

  /** Whether `e` is the join of someone else who was in the room before and is in it now by this join (a later join of theirs is handled instead). */
  private rejoin(events: readonly RoomEvent[], e: RoomEvent, members: ReadonlyMap<string, number>): boolean {
    if (e.type !== 'join' || e.actor === this.parts.me || members.get(e.actor) !== e.seq) return false;
    return events.slice(0, e.seq).some((x) => (x.type === 'leave' && x.actor === e.actor) || (x.type === 'kick' && x.subject === e.actor));
  }

  /** Sends again, for `user` back in room `id` by the join at `joinSeq`, my deletes and latest edits of messages they may hold (the newest MAX_RESENT_PER_REJOIN). */
  private async resend(id: ConversationId, user: string, joinSeq: number): Promise<void> {
    const { history, actions, me, db } = this.parts;
    const wasIn = this.memberAt(id, user, joinSeq);
    // What was sent to them at an earlier rejoin is not sent again: a member leaving and joining
    // in a loop would otherwise make every author send MAX_RESENT_PER_REJOIN messages each time.
    const since = Number(db.get('SELECT until FROM rejoin_resent WHERE room = ? AND user = ?', [id, user])?.until ?? -1);
    // Who could read each message: an edit's text goes in the current session, to every member now.
    const readers = new Map<string, (head: RoomHead) => boolean>();
    const couldRead = (u: string, head: RoomHead) => {
      let check = readers.get(u);
      if (!check) readers.set(u, (check = this.memberAt(id, u, Number.MAX_SAFE_INTEGER)));
      return check(head);
    };
    let sent = 0;
    for (const of of history.targetsActedOnBy(id, me, ['delete', 'edit'], MAX_LOOKED_AT_PER_REJOIN, since)) {
      if (this.closed) return;
      if (sent >= MAX_RESENT_PER_REJOIN) break;
      const m = history.get(id, of);
      if (!m || m.action || m.from !== me) continue;
      // Made in a session they were given the key of: its log head had them as a member. A
      // session whose head is not known here is left out (an edit's text must never reach
      // someone who was not there to read the message).
      const head = this.parts.sessions.headOf(id, m.session) ?? this.parts.held.bundle(id, me, m.session)?.head;
      if (!head || !wasIn(head)) continue;
      // The conversation now (its head moves on between sends).
      const conversation = this.parts.conversations.find(id);
      if (!conversation || !conversation.members.includes(user)) return;
      if (actions.deleted(m)) {
        await this.parts.send(conversation, '', { action: { t: 'delete', of } });
      } else {
        // Not when someone in the room now was not given the message's key (joined after it): they
        // would get its new text (a delete carries none). The rejoiner then keeps the old text.
        if (!conversation.members.every((u) => u === me || couldRead(u, head))) continue;
        const edits = history.actionsOn(id, of, ['edit'], { from: me, limit: MAX_EDITS_NAMED });
        const latest = edits.at(-1);
        // At MAX_EDITS_NAMED a delete could not name one more edit (conversation-actions.ts edit).
        if (!latest || edits.length >= MAX_EDITS_NAMED) continue;
        // When its text was set: a re-send (to another member) copies it, dated when sent. Set
        // before the last re-send to this member, they had it: a leave/join loop of two members
        // otherwise re-sent it at every rejoin, each a row counting toward the message's edits.
        let set = edits.length - 1;
        while (set > 0 && edits[set - 1]!.text === latest.text) set--;
        if (edits[set]!.sentAt <= since) continue;
        // Dated after it, so it stays my latest edit everywhere ("latest wins" by signed time).
        await this.parts.send(conversation, latest.text, { action: { t: 'edit', of }, notBefore: latest.sentAt + 1 });
      }
      sent++;
    }
    // Committed with the join's mark (pass): a pass cut short sends it all again.
    db.write(() => db.run('INSERT OR REPLACE INTO rejoin_resent (room, user, until) VALUES (?, ?, ?)', [id, user, this.parts.now()]));
  }

  /** Whether `user` was a member of room `id` at a head of its log before seq `before` (the head must be one of the log held here). */
  private memberAt(id: ConversationId, user: string, before: number): (head: RoomHead) => boolean {
    const spans = membershipSpans(this.parts.rooms.get(id)?.events ?? [], user, before);
    return (head) => this.parts.rooms.hashAt(id, head.seq) === head.hash && spans.some((s) => head.seq >= s.from && head.seq < s.to);
  }

  /** The seq of room `id`'s last event whose rejoin was handled here, or undefined when none is recorded. */
  private handled(id: ConversationId): number | undefined {
    const row = this.parts.db.get('SELECT seq FROM rejoins_handled WHERE room = ?', [id]);
    return row ? Number(row.seq) : undefined;
  }

  /** Marks room `id` handled up to `seq` (call inside db.write). */
  private mark(id: ConversationId, seq: number): void {
    this.parts.db.run('INSERT OR REPLACE INTO rejoins_handled (room, seq) VALUES (?, ?)', [id, seq]);
  }
}
