// Keeping the verified room logs current (DESIGN.md "Rooms"): catching up with the tracker, one
// catch-up per room at a time; my own events appended on the current head; heads compared with
// peers so forks show at once, and missing events asked of or given to members. A session key or
// message made at a head not held yet is parked here until the events that lead to it arrive,
// then handed back to its sender's serial inbox, ahead of what that sender sent later: order and
// the flood cap hold as for any other message.

import type { ClientEvents } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { ConversationId, PeerMessage } from '../protocol/peer.ts';
import { DM_HEAD, isDmRoom } from '../protocol/peer.ts';
import { signRoomEvent, type RoomEvent, type RoomHead, type RoomState, type UnsignedRoomEvent } from '../protocol/room-log.ts';
import type { Conversation, Conversations } from './conversations.ts';
import type { KeyDirectory } from './key-directory.ts';
import type { PeerLink } from './link.ts';
import type { RoomBook } from './room-book.ts';
import { bundleSignatureValid, envelopeSignatureValid } from './sender-keys.ts';
import type { TrackerSession } from './tracker-session.ts';
import type { KeyObject } from 'node:crypto';

const MAX_APPEND_RETRIES = 5;
/**
 * Room events per `log` frame: a frame stays under the peer message limit (an event is at most
 * about 4.5 KiB, a kick naming MAX_SENT_SESSIONS sessions: protocol/room-log.ts).
 */
export const LOG_CHUNK = 100;
export const MAX_PARKED_BYTES_PER_ROOM = 16 * 1024 * 1024;

/** A peer message as its sender's inbox holds it. */
export interface InboxItem {
  msg: PeerMessage;
  link: PeerLink;
  /** It was parked and put back: it never queues behind the sender's other put-back messages. */
  requeued?: boolean;
  /** Put back and not yet taken up again (counted in RoomSync's per-sender count). */
  waiting?: boolean;
}

export interface RoomSyncParts {
  rooms: RoomBook;
  conversations: Conversations;
  keys: KeyDirectory;
  tracker: Pick<TrackerSession, 'roomLog' | 'request'>;
  signingKey: () => KeyObject;
  /**
   * Puts a sender's messages back in its inbox ahead of what waits there, after its first `skip`
   * waiting items; false when that overfills the inbox.
   */
  requeue: (from: string, items: InboxItem[], skip: number) => boolean;
  /** Room events newly applied, in order, with the state before and after each. */
  applied: (event: RoomEvent, before: RoomState | null, after: RoomState) => void;
  forked: (e: ClientEvents['room_forked']) => void;
  persist: () => void;
  report: (err: unknown, from?: string) => void;
}

export class RoomSync {
  /** Per room: a running catch-up with the tracker, so envelopes wait for it. */
  private readonly syncing = new Map<ConversationId, Promise<void>>();
  private readonly parked = new Map<ConversationId, { from: string; item: InboxItem; size: number }[]>();
  /** Per sender: parked messages back in its inbox and not yet taken up again. */
  private readonly requeued = new Map<string, number>();

  constructor(private readonly parts: RoomSyncParts) {}

  /** Catches each of these rooms up with the tracker's log; failures are reported, not thrown. */
  async syncRooms(ids: Iterable<ConversationId>): Promise<void> {
    for (const id of new Set(ids)) await this.syncRoom(id).catch((err) => this.parts.report(err));
  }

  /** Catches one room up with the tracker (one catch-up per room at a time). */
  syncRoom(id: ConversationId): Promise<void> {
    const running = this.syncing.get(id);
    if (running) return running;
    const run = (async () => {
      const room = this.parts.rooms.get(id);
      const from = room ? room.state.head.seq + 1 : 0;
      let events: RoomEvent[];
      try {
        events = (await this.parts.tracker.roomLog(id, from)).events;
      } catch (err) {
        if (err instanceof ProtocolError && err.code === 'room.not_found' && room && !room.state.closed) {
          return; // closed or deleted: the room_event push tells us which
        }
        throw err;
      }
      await this.apply(events);
    })().finally(() => this.syncing.delete(id));
    this.syncing.set(id, run);
    return run;
  }

  /** Signs and appends my own event on the current head, re-signing if another won the race. */
  async appendOwn(id: ConversationId, build: (head: RoomHead) => UnsignedRoomEvent, check?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const room = this.parts.rooms.get(id);
      if (!room) throw new ProtocolError('room.not_found', 'you are not in that room');
      const event = signRoomEvent(build(room.state.head), this.parts.signingKey());
      try {
        await this.parts.tracker.request('append', { event, ...(check ? { check } : {}) });
        await this.apply([event]);
        return;
      } catch (err) {
        if (!(err instanceof ProtocolError) || err.code !== 'room.stale_head' || attempt >= MAX_APPEND_RETRIES) throw err;
        await this.syncRoom(id);
      }
    }
  }

  /** Verifies and applies events, tells `applied` of each, and requeues what waited for them. */
  async apply(events: RoomEvent[]): Promise<void> {
    let applied;
    try {
      applied = await this.parts.rooms.apply(events);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'room.forked') {
        const id = events[0].room;
        const seq = events[0].seq;
        this.parts.rooms.markForked(id, { seq, mine: '', theirs: '', from: 'tracker' });
        this.parts.forked({ room: this.parts.rooms.get(id)?.state.name ?? id, roomId: id, seq, detail: err.message, withheld: false });
        return;
      }
      throw err;
    }
    for (const { event, before, after } of applied) this.parts.applied(event, before, after);
    // No state.json write here: the events are appended to the room's file (RoomBook), and
    // state.json holds only the index of rooms, which RoomBook says when it changes.
    if (applied.length) {
      for (const id of new Set(applied.map((a) => a.after.id))) this.unpark(id);
    }
  }

  /** Our heads of the rooms shared with `peer`: the first thing on every link, so forks show at once. */
  sendHeads(peer: string, link: PeerLink): void {
    const heads = this.parts.conversations.sharedWith(peer).map((id) => ({ room: id, head: this.parts.rooms.get(id)!.state.head }));
    link.send({ t: 'heads', heads });
  }

  /**
   * A peer's head for a room: the same (true), behind us (we send what it misses), ahead of us
   * (we catch up, or ask the member), or a different history (the room is marked forked).
   */
  async compareHead(roomId: ConversationId, head: RoomHead, from: string, link: PeerLink): Promise<boolean> {
    if (isDmRoom(roomId)) return head.seq === DM_HEAD.seq && head.hash === DM_HEAD.hash;
    const { rooms } = this.parts;
    let room = rooms.get(roomId);
    if (!room) return false;
    if (head.seq > room.state.head.seq) {
      await this.syncRoom(roomId);
      room = rooms.get(roomId);
      if (!room) return false;
      if (head.seq > room.state.head.seq) {
        // The tracker does not have (or will not give) what this member holds: ask the member.
        link.send({ t: 'log_request', room: roomId, from: room.state.head.seq + 1 });
        return false;
      }
    }
    const mine = rooms.hashAt(roomId, head.seq);
    if (mine !== head.hash) {
      if (!room.forked) {
        rooms.markForked(roomId, { seq: head.seq, mine: mine ?? '', theirs: head.hash, from });
        this.parts.forked({ room: room.state.name, roomId, seq: head.seq, detail: `${from} holds a different event at seq ${head.seq}: the tracker showed you different histories; sending to this room stops`, withheld: false });
        this.parts.persist();
      }
      return false;
    }
    if (head.seq < room.state.head.seq) this.sendLog(link, roomId, head.seq + 1); // events are signed: no trust needed
    return true;
  }

  /** A member asks for events it misses; only members (past or present) of the room are answered. */
  onLogRequest(from: string, msg: Extract<PeerMessage, { t: 'log_request' }>, link: PeerLink): void {
    const room = this.parts.rooms.get(msg.room);
    if (!room || !room.events.some((e) => e.actor === from || e.subject === from)) return;
    this.sendLog(link, msg.room, msg.from);
  }

  /** Events a member sent us; any we did not have from the tracker show that it withheld them. */
  async onLog(from: string, msg: Extract<PeerMessage, { t: 'log' }>): Promise<void> {
    const room = this.parts.rooms.get(msg.room);
    if (!room) return;
    const before = room.state.head.seq;
    await this.apply(msg.events.filter((e) => e.seq > before));
    const after = this.parts.rooms.get(msg.room)?.state.head.seq ?? before;
    if (after > before) {
      this.parts.forked({ room: room.state.name, roomId: msg.room, seq: before + 1, detail: `${from} showed signed events ${before + 1}..${after} that the tracker withheld; they are applied now`, withheld: true });
    }
  }

  /** Members at a head, catching up with the tracker first when the head is newer than ours. */
  async membersAt(conversation: Conversation, head: RoomHead): Promise<string[] | undefined> {
    const members = this.parts.conversations.membersAt(conversation, head);
    if (members || conversation.direct || head.seq <= conversation.head.seq) return members;
    await this.syncRoom(conversation.id);
    const now = this.parts.conversations.find(conversation.id);
    return now && this.parts.conversations.membersAt(now, head);
  }

  /**
   * Parks a session key or message made at a head newer than ours, or behind one of the same
   * sender's parked ones (DESIGN.md "a client that sees a newer head fetches the missing events").
   * Returns false when it need not wait. Throws for a stranger's or badly signed message, or when
   * the room's parked bytes would pass MAX_PARKED_BYTES_PER_ROOM ('server.busy').
   */
  park(roomId: ConversationId, head: RoomHead, from: string, item: InboxItem): boolean {
    // Handled while the sender's unparked messages wait to be handled again (it was already
    // under way when the room caught up): it goes behind them.
    const ahead = this.requeued.get(from);
    if (ahead && !item.requeued) return this.requeue(from, [item], ahead);
    if (isDmRoom(roomId)) return false;
    const room = this.parts.rooms.get(roomId);
    if (!room || room.forked) return false;
    const list = this.parked.get(roomId);
    if (head.seq <= room.state.head.seq && !list?.some((p) => p.from === from)) return false;
    // Only a current member's own signed words may wait, and only so much of them: parking is
    // memory a stranger must not be able to fill.
    const { msg } = item;
    const sender = msg.t === 'session' ? msg.bundle.sender : msg.t === 'envelope' ? msg.envelope.sender : from;
    if (!room.state.members.has(sender)) throw new ProtocolError('room.not_member', `refused a message from ${sender}: no longer a member of ${room.state.name}`);
    const key = this.parts.keys.signingKey(sender);
    const signed = msg.t === 'session' ? bundleSignatureValid(msg.bundle, key) : msg.t === 'envelope' ? envelopeSignatureValid(msg.envelope, key) : false;
    if (!signed) throw new ProtocolError('room.bad_signature', `dropped a message for ${room.state.name} claiming to be from ${sender}: bad signature`);
    const size = JSON.stringify(msg).length;
    const held = (list ?? []).reduce((n, p) => n + p.size, 0);
    if (held + size > MAX_PARKED_BYTES_PER_ROOM) throw new ProtocolError('server.busy', `too many messages in ${room.state.name} wait for room events that have not arrived; dropped one from ${from}`);
    if (list) list.push({ from, item, size });
    else this.parked.set(roomId, [{ from, item, size }]);
    return true;
  }

  /** Call as a sender's inbox takes up an item: a requeued one is no longer waiting. */
  taken(from: string, item: InboxItem): void {
    if (!item.waiting) return;
    item.waiting = false;
    const left = (this.requeued.get(from) ?? 1) - 1;
    if (left > 0) this.requeued.set(from, left);
    else this.requeued.delete(from);
  }

  /** How many messages wait in a room (tests, diagnostics). */
  parkedCount(roomId: ConversationId): number {
    return this.parked.get(roomId)?.length ?? 0;
  }

  /** A room left, closed or forgotten: what waited for it goes. */
  forget(roomId: ConversationId): void {
    this.parked.delete(roomId);
  }

  clear(): void {
    this.parked.clear();
    this.requeued.clear();
  }

  /** Hands a room's parked messages back to their senders' inboxes, each sender's in arrival order. */
  private unpark(roomId: ConversationId): void {
    const list = this.parked.get(roomId);
    if (!list?.length) return;
    this.parked.delete(roomId);
    const bySender = new Map<string, InboxItem[]>();
    for (const { from, item } of list) {
      const items = bySender.get(from);
      if (items) items.push(item);
      else bySender.set(from, [item]);
    }
    for (const [from, items] of bySender) this.requeue(from, items, 0);
  }

  /** Always true: the items are either back in the inbox or dropped (reported), never handled now. */
  private requeue(from: string, items: InboxItem[], skip: number): boolean {
    // Counted first: an idle inbox takes the first of them up at once.
    for (const item of items) item.requeued = item.waiting = true;
    this.requeued.set(from, (this.requeued.get(from) ?? 0) + items.length);
    if (!this.parts.requeue(from, items, skip)) {
      for (const item of items) this.taken(from, item);
      this.parts.report(new ProtocolError('server.busy', `dropped ${items.length} messages from ${from} that waited for room events: their inbox is full`), from);
    }
    return true;
  }

  private sendLog(link: PeerLink, roomId: ConversationId, from: number): void {
    const room = this.parts.rooms.get(roomId);
    if (!room) return;
    for (let at = from; at < room.events.length; at += LOG_CHUNK) {
      link.send({ t: 'log', room: roomId, events: room.events.slice(at, at + LOG_CHUNK) });
    }
  }
}
