// Delivery of my own messages (DESIGN.md "Delivery, history, nothing lost"): every message I send
// stays in the outbox (in the data folder) until each member it was for has it, learnt from their
// ack or from their catch-up summary (they may have had it from another member). A member I could
// not reach is tried again when they become reachable (presence, a new address, a new link) and on
// a backoff; a retry is a new link, on which catch-up sends what they lack. What waits for a member
// who is offline goes to the tracker's mailbox (peer/mailbox.ts): when a send fails, when they go
// offline, and after each sign-in and resume for everyone offline then. The user sees each
// message's state: `waiting` (names), `delivered` (N of M), `expired`.

import type { ClientEvents, PendingMessage } from '../protocol/client.ts';
import type { MessageAction } from '../protocol/message-actions.ts';
import { OUTBOX_MAX_AGE_MS, OUTBOX_MAX_ENTRIES, RETRY_BACKOFF_MS, type ConversationId } from '../protocol/peer.ts';
import type { OutboxStore } from './outbox.ts';

/** How often expired outbox entries are looked for. */
const EXPIRY_SWEEP_MS = 60_000;

export interface DeliveryParts {
  outbox: OutboxStore;
  now: () => number;
  /** Opens (or finds) a link to `user`; true when there is one. A new link starts catch-up both ways. */
  reach: (user: string) => Promise<boolean>;
  /** True when the tracker says `user` is online (a backoff retry to someone offline waits for presence). */
  online: (user: string) => boolean;
  /** Display name of a conversation, for events about a message whose conversation is still known. */
  nameOf: (room: ConversationId) => string | undefined;
  /** Messages for `user` could not be sent to them directly: they may go to the mailbox. */
  unreachable?: (user: string) => void;
  /** Withdrawals from the tracker's mailbox were recorded (outbox.withdraw): send them. */
  withdrawFromMailbox?: () => void;
  emit: <K extends 'delivered' | 'waiting' | 'expired'>(name: K, e: ClientEvents[K]) => void;
  report: (err: unknown, from?: string) => void;
}

interface Retry {
  attempt: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/** One of my messages, as the outbox knows it. */
export type SentMessage = { room: ConversationId; roomName: string; id: string; session: string; seq: number };

export class Delivery {
  private readonly retries = new Map<string, Retry>();
  /** Messages whose `waiting` event is due at the end of this turn, with the members not reached. */
  private readonly waitingDue = new Map<string, { message: SentMessage; users: Set<string> }>();
  private sweep?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly parts: DeliveryParts) {
    this.sweep = setInterval(() => this.expire(), EXPIRY_SWEEP_MS);
    this.sweep.unref();
  }

  /**
   * A message of mine, written to the outbox before it goes out: one entry per recipient.
   * `action`: what it is when a message action; my older receipts, toggles or edits it covers
   * leave the outbox for those recipients (peer/outbox.ts add), their mailbox copies withdrawn.
   */
  sent(entry: SentMessage & { sentAt: number }, recipients: string[], action?: MessageAction): void {
    if (this.parts.outbox.add(entry, recipients, action) > 0) this.parts.withdrawFromMailbox?.();
  }

  /** What `action` would supersede of mine in `room` for `recipients`: its `covers` (peer/outbox.ts covered). */
  covered(room: ConversationId, action: MessageAction, recipients: readonly string[]): { session: string; seqs: number[] }[] {
    return this.parts.outbox.covered(room, action, recipients);
  }

  /** Whom one of my messages expired undelivered to. */
  notDelivered(message: Pick<SentMessage, 'room' | 'session' | 'seq'>): string[] {
    return this.parts.outbox.expiredFor(message.room, message.session, message.seq);
  }

  /** Whom one of my messages still waits for (empty: everyone has it, or it expired). */
  waitingFor(message: Pick<SentMessage, 'room' | 'session' | 'seq'>): string[] {
    return this.parts.outbox.waitingFor(message.room, message.session, message.seq);
  }

  /** False when the tracker says `user` is offline: a send would only dial in vain. */
  reachableNow(user: string): boolean {
    return this.parts.online(user);
  }

  /** A send to `user` failed (no link could be opened): the user sees who it waits for; a retry is planned. */
  failed(user: string, message: SentMessage): void {
    this.dueWaiting(message, user);
    this.parts.unreachable?.(user);
    this.schedule(user);
  }

  /**
   * A link to `user` closed (it may have been dropped as a slow consumer mid catch-up): while my
   * messages still wait for them a retry is planned, whose new link catches up again.
   */
  linkClosed(user: string): void {
    if (this.parts.outbox.pendingFor(user).length) this.schedule(user);
  }

  /** `from` acknowledged these sequences of my session. */
  acked(from: string, room: ConversationId, session: string, seqs: number[]): void {
    for (const seq of seqs) this.has(from, room, session, seq);
  }

  /** `peer` holds my session up to `seq` (its catch-up summary): every entry for it up to there is done. */
  holds(peer: string, room: ConversationId, session: string, seq: number): void {
    for (const p of this.parts.outbox.pendingFor(peer)) {
      if (p.room === room && p.session === session && p.seq <= seq) this.has(peer, room, session, p.seq);
    }
  }

  /** `user` became reachable (online, a new address): try now, and start the backoff again. */
  reachable(user: string): void {
    const r = this.retries.get(user);
    if (r) r.attempt = 0;
    if (this.parts.outbox.pendingFor(user).length) this.retry(user);
  }

  /**
   * `user` went offline at the tracker: what waits for them (sent while they were online, never
   * acknowledged: their laptop slept, their link dropped) goes to their mailbox.
   */
  wentOffline(user: string): void {
    if (this.parts.outbox.undepositedCount(user) > 0) this.parts.unreachable?.(user);
  }

  /**
   * After sign-in and each resume: everyone with something waiting is tried when online, and has
   * it deposited in their mailbox when offline (a deposit may have failed while the tracker was
   * away, or before a restart).
   */
  resumeAll(): void {
    this.expire();
    for (const u of this.parts.outbox.waitingUsers()) {
      if (this.parts.online(u)) this.retry(u);
      else this.wentOffline(u);
    }
  }

  pending(): PendingMessage[] {
    return this.parts.outbox.pending().map((p) => ({ room: this.parts.nameOf(p.room) ?? p.roomName, roomId: p.room, id: p.id, waitingFor: p.waitingFor, ...(p.kind ? { kind: p.kind } : {}) }));
  }

  /** Removes and reports what is past OUTBOX_MAX_AGE_MS or over OUTBOX_MAX_ENTRIES. */
  expire(): void {
    if (this.closed) return;
    try {
      for (const e of this.parts.outbox.expire(this.parts.now(), OUTBOX_MAX_AGE_MS, OUTBOX_MAX_ENTRIES)) {
        this.parts.emit('expired', { room: this.parts.nameOf(e.room) ?? e.roomName, roomId: e.room, id: e.id, user: e.user });
      }
    } catch (err) {
      this.parts.report(err);
    }
  }

  /**
   * `user` left `room` or was kicked: my messages there will never reach them (they refuse what
   * was sent before, as they must): each is reported `expired` for them, not left waiting.
   */
  memberGone(room: ConversationId, user: string): void {
    for (const e of this.parts.outbox.dropMember(room, user)) {
      this.parts.emit('expired', { room: this.parts.nameOf(e.room) ?? e.roomName, roomId: e.room, id: e.id, user: e.user });
    }
  }

  /**
   * I deleted this message of mine: it waits for nobody (its delete is delivered like any
   * message), and is taken back from the mailboxes of the members it still waited for (a durable
   * withdrawal each, sent now or after the next sign-in: peer/mailbox.ts).
   */
  withdrawn(room: ConversationId, session: string, seq: number): void {
    if (this.parts.outbox.withdraw(room, session, seq).length) this.parts.withdrawFromMailbox?.();
  }

  /** A conversation left or closed: its messages no longer wait for anyone. */
  forget(room: ConversationId): void {
    this.parts.outbox.forget(room);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
    this.waitingDue.clear();
  }

  private has(user: string, room: ConversationId, session: string, seq: number): void {
    const done = this.parts.outbox.delivered(room, session, seq, user);
    if (!done) return;
    this.parts.emit('delivered', { room: this.parts.nameOf(room) ?? done.roomName, roomId: room, id: done.id, count: done.of - done.remaining.length, of: done.of });
  }

  /** One `waiting` event per message per turn, naming the members its sends failed to reach. */
  private dueWaiting(message: SentMessage, user: string): void {
    const k = key(message.room, message.session, message.seq);
    const due = this.waitingDue.get(k);
    if (due) {
      due.users.add(user);
      return;
    }
    this.waitingDue.set(k, { message, users: new Set([user]) });
    if (this.waitingDue.size > 1) return;
    setImmediate(() => {
      const due = [...this.waitingDue.values()];
      this.waitingDue.clear();
      if (this.closed) return;
      for (const { message: m, users } of due) {
        // Those who acknowledged meanwhile (another path) are no longer named.
        const waitingFor = this.waitingFor(m).filter((u) => users.has(u));
        if (waitingFor.length) this.parts.emit('waiting', { room: this.parts.nameOf(m.room) ?? m.roomName, roomId: m.room, id: m.id, waitingFor });
      }
    });
  }

  private schedule(user: string): void {
    if (this.closed) return;
    let r = this.retries.get(user);
    if (!r) this.retries.set(user, (r = { attempt: 0 }));
    if (r.timer || r.running) return;
    const delay = RETRY_BACKOFF_MS[Math.min(r.attempt, RETRY_BACKOFF_MS.length - 1)];
    r.attempt++;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      // Offline at the tracker: presence will say when they are back.
      if (this.parts.online(user)) this.retry(user);
    }, delay);
    r.timer.unref();
  }

  private retry(user: string): void {
    if (this.closed) return;
    let r = this.retries.get(user);
    if (!r) this.retries.set(user, (r = { attempt: 0 }));
    if (r.running) return;
    clearTimeout(r.timer);
    r.timer = undefined;
    const retry = r;
    retry.running = this.parts.reach(user).then(
      (ok) => {
        retry.running = undefined;
        if (ok) retry.attempt = 0;
        else {
          this.parts.unreachable?.(user);
          this.schedule(user);
        }
      },
      (err) => {
        retry.running = undefined;
        this.parts.report(err, user);
        this.schedule(user);
      },
    );
  }
}

function key(room: ConversationId, session: string, seq: number): string {
  return `${room} ${session} ${seq}`;
}
