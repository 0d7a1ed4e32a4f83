// The sender sessions this member has received, and what keeps their used keys from being used
// again (DESIGN.md "End-to-end encryption"): a message key is deleted once it opened its message,
// so the record of that deletion is what stops a replay. It must therefore be on disk before the
// message is shown or acknowledged, and it must outlive every way a session leaves memory:
//
// - restart or crash: each change is appended to a journal (peer/session-journal.ts) and
//   fdatasync'ed before `afterDurable` callbacks run (the engine shows and acks in them); a burst
//   is one append and one sync per turn of the event loop;
// - a session evicted by the caps (protocol/peer.ts MAX_SESSIONS_*, MAX_SKIPPED_KEYS_*): the
//   sender's floor rises to the evicted session's `created`, and a bundle at or below a sender's
//   floor is refused, so the evicted session cannot be opened again from its old bundle;
// - leaving, being kicked, the room closing: the room's floor becomes the head at that point,
//   and a session made at an earlier head is refused, so a rejoin does not reopen old sessions;
// - the journal itself lost: moved aside when damaged, deleted, a fresh data folder (another
//   machine, a new device), or unreadable after the extension lost its at-rest key. Nothing then
//   says which message keys were used, and a member may forward any old bundle and envelope. So a
//   journal that starts empty records when it started (a `start` record, fsynced by the
//   compaction in the constructor, before anything is shown), and a message whose signed body
//   time is older than that is refused as `message.before_start`.
//
//   Why the message time and not the session: refusing every session whose bundle was `created`
//   before the start would also silence the senders' honest live sessions, and a sender keeps one
//   up to 100 messages or 7 days (a room whose membership does not change would stay unreadable
//   that long). The message time is inside the ciphertext and signed by its sender, so a member
//   forwarding cannot change it; a sender lying about it only affects its own messages. The cost:
//   old messages this device never received are refused too (said in an error event, never
//   silently: they cannot be told apart from replays).
//
//   No allowance for senders' clocks running behind ours: it would reopen exactly the window a
//   replay needs (the messages shown just before a crash, seconds before the restart, are the
//   newest an attacker holds; a tester replayed them within a 2-minute allowance). A sender whose
//   clock is d behind instead has its messages refused for the first d after the start, each with
//   an error saying why, and then they pass again: a rare, visible, self-ending loss, for never
//   showing a replay.
//
// Every key here (room ids, sender names, session ids) comes from peers: Maps only.

import {
  MAX_SESSIONS_PER_ROOM, MAX_SESSIONS_PER_SENDER, MAX_SKIPPED_KEYS_PER_ROOM, MAX_SKIPPED_KEYS_PER_SENDER,
} from '../protocol/peer.ts';
import { int, obj, str } from '../protocol/schema.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { deserializeInbound, serializeInbound, type InboundSession } from './sender-keys.ts';
import { JournalBatch } from './journal-batch.ts';
import type { JournalRecord, SessionJournal } from './session-journal.ts';

/**
 * Messages decrypted and waiting for their journal write before they are shown; beyond this the
 * engine waits for the write before handling more (a stalled disk must not fill memory).
 */
export const MAX_WAITING_FOR_DISK = 1000;

interface RoomSessions {
  /** sender -> session id -> session, oldest first. */
  senders: Map<string, Map<string, InboundSession>>;
  /** Sessions held in this room. */
  count: number;
  /** Sessions made at a head below this seq are refused (set when this member left the room). */
  floor: number;
  /** sender -> highest `created` of a session of theirs that was dropped here; refused at or below. */
  senderFloors: Map<string, number>;
}

const roomRef = str({ max: 80 });
const userRef = str({ max: 32 });
const sessionRef = str({ max: 64 });
const goneSchema = obj({ t: str({ max: 8 }), room: roomRef, sender: userRef, session: sessionRef });
const floorSchema = obj({ t: str({ max: 8 }), room: roomRef, sender: userRef, created: int({ min: 0 }) });
const leftSchema = obj({ t: str({ max: 8 }), room: roomRef, seq: int({ min: 0 }) });
const startSchema = obj({ t: str({ max: 8 }), at: int({ min: 0 }) });

export class InboundSessions {
  private readonly rooms = new Map<string, RoomSessions>();
  /** Changes not yet on disk, by what they change (a newer change replaces an older one). */
  private readonly batch: JournalBatch;
  /**
   * When this journal started (ms): messages signed before it are refused (see the top of the file).
   * 0 for a journal an earlier version kept without a `start` record (its records are intact).
   */
  private startedAt = 0;
  /** Runs before each journal write (the engine commits its message store here): journal-batch.ts. */
  set beforeWrite(fn: (() => void) | undefined) {
    this.batch.beforeWrite = fn;
  }

  /**
   * Reads the journal (and sessions an earlier version kept in state.json, `legacy`), then
   * rewrites the journal compacted, so a torn last line is gone before anything is appended.
   * A journal that is missing or empty starts now: that time is in the compacted file (fsynced)
   * before the constructor returns. `onError` hears of a journal write that failed (the messages
   * waiting on it are not shown). `now` is the engine's clock.
   */
  constructor(
    private readonly journal: SessionJournal,
    private readonly onError: (err: Error) => void,
    legacy: Iterable<unknown> = [],
    readOnly = false,
    now: () => number = Date.now,
  ) {
    this.batch = new JournalBatch(journal, () => this.snapshot(), onError, readOnly);
    const records = journal.read();
    for (const r of records) this.replay(r);
    // Nothing on disk says which keys were used: a fresh device, or a journal lost or moved aside.
    if (!records.length) this.startedAt = now();
    for (const saved of legacy) {
      let s: InboundSession;
      try {
        s = deserializeInbound(saved);
      } catch {
        continue; // an unreadable legacy entry: its session is unknown, its messages are refused
      }
      if (this.has(s.room, s.sender, s.session) || this.refusal(s)) continue;
      this.insert(s);
    }
    this.batch.clear();
    if (!readOnly) journal.compact(this.snapshot());
  }

  /**
   * The sessions a journal holds, serialized, by `${room} ${sender} ${session}` (a null-prototype
   * object: the keys come from peers), without writing anything: for tools and tests.
   */
  static peek(journal: SessionJournal): Record<string, unknown> {
    const view = new InboundSessions(journal, () => {}, [], true);
    const out: Record<string, unknown> = Object.create(null);
    for (const r of view.rooms.values()) {
      for (const m of r.senders.values()) for (const s of m.values()) out[`${s.room} ${s.sender} ${s.session}`] = serializeInbound(s);
    }
    return out;
  }

  has(room: string, sender: string, session: string): boolean {
    return Boolean(this.rooms.get(room)?.senders.get(sender)?.has(session));
  }

  get(room: string, sender: string, session: string): InboundSession | undefined {
    return this.rooms.get(room)?.senders.get(sender)?.get(session);
  }

  /** Sessions held (all rooms). */
  get size(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.count;
    return n;
  }

  /** Sessions and skipped keys held in one room. */
  stats(room: string): { sessions: number; skipped: number } {
    const r = this.rooms.get(room);
    let skipped = 0;
    for (const m of r?.senders.values() ?? []) for (const s of m.values()) skipped += s.skipped.size;
    return { sessions: r?.count ?? 0, skipped };
  }

  /**
   * Why a session announced by `b` may not be opened (it ended here: dropped by the caps, or made
   * before this member left the room), or undefined when it may.
   */
  refusal(b: { room: string; sender: string; created: number; head: { seq: number } }): string | undefined {
    const r = this.rooms.get(b.room);
    if (!r) return undefined;
    if (b.head.seq < r.floor) return `it was made before you left the room (at event ${b.head.seq}); its messages are not shown again`;
    const floor = r.senderFloors.get(b.sender);
    if (floor !== undefined && b.created <= floor) return `a newer session of ${b.sender}'s replaced it here; its messages are not shown again`;
    return undefined;
  }

  /** When the journal started (ms since the epoch; 0: kept by an earlier version, no floor). */
  get startTime(): number {
    return this.startedAt;
  }

  /**
   * Throws ProtocolError 'message.before_start' for a message whose signed time is older than
   * the journal's start: whether its key was used before cannot be known,
   * so it is treated as a replay and not shown. Call it after the message was decrypted (its key
   * is then recorded as used) and before it is shown.
   */
  requireAfterStart(sender: string, sentAt: number): void {
    if (sentAt >= this.startedAt) return;
    throw new ProtocolError(
      'message.before_start',
      `did not show a message from ${sender} sent ${new Date(sentAt).toISOString()}: it is older than this device's record of received messages (started ${new Date(this.startedAt).toISOString()}, when the session journal was new or lost), so it may have been shown already and is taken for a replay; if ${sender} sent it and you never saw it (or ${sender}'s clock is behind), ask them to send it again`,
    );
  }

  /** Adds a newly opened session (refused ones throw ProtocolError 'session.ended'), then applies the caps. */
  add(s: InboundSession): void {
    const why = this.refusal(s);
    if (why) throw new ProtocolError('session.ended', `refused a session key from ${s.sender}: ${why}`);
    if (this.has(s.room, s.sender, s.session)) return;
    this.insert(s);
    this.touch(s);
    this.enforceSessionCaps(s.room, s.sender);
  }

  /** `s` changed (a message opened): record it, and trim skipped keys to the caps. */
  changed(s: InboundSession): void {
    this.touch(s);
    this.enforceSkippedCaps(s.room, s.sender);
  }

  /**
   * This member left the room, was kicked, or the room closed at `head`: its sessions are dropped
   * (keys zeroed) and nothing made before `head` is opened again.
   */
  forgetRoom(room: string, headSeq: number): void {
    const r = this.roomOf(room);
    for (const [sender, sessions] of r.senders) for (const s of [...sessions.values()]) this.drop(r, sender, s);
    r.floor = Math.max(r.floor, headSeq + 1);
    const floor = r.floor;
    this.batch.set(`left ${room}`, () => ({ t: 'left', room, seq: floor }));
  }

  /** Runs `fn` once every change made so far is on disk (in call order). */
  afterDurable(fn: () => void): void {
    this.batch.afterDurable(fn);
  }

  /** Callbacks waiting for the next journal write. */
  get waitingForDisk(): number {
    return this.batch.waitingForDisk;
  }

  /** Resolves once the journal write that takes what is pending now has ended, well or not. */
  nextWrite(): Promise<void> {
    return this.batch.nextWrite();
  }

  /** Writes what is pending and runs the callbacks waiting on it; then compacts the journal. */
  async close(): Promise<void> {
    await this.batch.close();
    try {
      this.journal.compact(this.snapshot());
    } catch (err) {
      this.onError(new Error(`could not rewrite ${this.journal.path} on close (${(err as Error).message}); it is read as it is next time`));
    } finally {
      await this.journal.close();
      for (const r of this.rooms.values()) for (const m of r.senders.values()) for (const s of m.values()) zero(s);
      this.rooms.clear();
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  private roomOf(room: string): RoomSessions {
    let r = this.rooms.get(room);
    if (!r) {
      r = { senders: new Map(), count: 0, floor: 0, senderFloors: new Map() };
      this.rooms.set(room, r);
    }
    return r;
  }

  private insert(s: InboundSession): void {
    const r = this.roomOf(s.room);
    let m = r.senders.get(s.sender);
    if (!m) {
      m = new Map();
      r.senders.set(s.sender, m);
    }
    m.set(s.session, s);
    r.count += 1;
  }

  private touch(s: InboundSession): void {
    this.batch.set(`in ${s.room} ${s.sender} ${s.session}`, () => ({ t: 'in', s: serializeInbound(s) }));
  }

  /** Drops one session and raises its sender's floor to it, so its bundle is refused from now on. */
  private drop(r: RoomSessions, sender: string, s: InboundSession): void {
    const m = r.senders.get(sender)!;
    m.delete(s.session);
    if (!m.size) r.senders.delete(sender);
    r.count -= 1;
    zero(s);
    const floor = Math.max(r.senderFloors.get(sender) ?? -1, s.created);
    r.senderFloors.set(sender, floor);
    const { room, session } = s;
    this.batch.delete(`in ${room} ${sender} ${session}`);
    this.batch.set(`gone ${room} ${sender} ${session}`, () => ({ t: 'gone', room, sender, session }));
    this.batch.set(`floor ${room} ${sender}`, () => ({ t: 'floor', room, sender, created: floor }));
  }

  private enforceSessionCaps(room: string, sender: string): void {
    const r = this.rooms.get(room)!;
    const mine = r.senders.get(sender)!;
    while (mine.size > MAX_SESSIONS_PER_SENDER) this.drop(r, sender, mine.values().next().value!);
    // Over the room's cap: the sender holding the most sessions loses its oldest, so one member
    // announcing many cannot push out the others'.
    while (r.count > MAX_SESSIONS_PER_ROOM) {
      let most: [string, Map<string, InboundSession>] | undefined;
      for (const entry of r.senders) if (!most || entry[1].size > most[1].size) most = entry;
      this.drop(r, most![0], most![1].values().next().value!);
    }
    this.enforceSkippedCaps(room, sender);
  }

  /** Drops the oldest skipped keys (oldest sessions first) beyond the per-sender and per-room caps. */
  private enforceSkippedCaps(room: string, sender: string): void {
    const r = this.rooms.get(room);
    const mine = r?.senders.get(sender);
    if (!r || !mine) return;
    let ofSender = 0;
    for (const s of mine.values()) ofSender += s.skipped.size;
    if (ofSender > MAX_SKIPPED_KEYS_PER_SENDER) this.trim(mine.values(), ofSender - MAX_SKIPPED_KEYS_PER_SENDER);
    let ofRoom = 0;
    for (const m of r.senders.values()) for (const s of m.values()) ofRoom += s.skipped.size;
    if (ofRoom > MAX_SKIPPED_KEYS_PER_ROOM) {
      // The sender with the most kept keys gives them up first.
      const bySize = [...r.senders.values()].map((m) => [...m.values()]).sort((a, b) => keysOf(b) - keysOf(a));
      let excess = ofRoom - MAX_SKIPPED_KEYS_PER_ROOM;
      for (const sessions of bySize) excess = this.trim(sessions.values(), excess);
    }
  }

  /** Deletes up to `excess` skipped keys, oldest first; returns how many more are to go. */
  private trim(sessions: Iterable<InboundSession>, excess: number): number {
    for (const s of sessions) {
      if (excess <= 0) break;
      let removed = 0;
      for (const [seq, key] of s.skipped) {
        if (excess <= 0) break;
        key.fill(0);
        s.skipped.delete(seq);
        excess -= 1;
        removed += 1;
      }
      if (removed) this.touch(s);
    }
    return excess;
  }

  /** Everything live, as journal records: sessions, then floors. */
  private snapshot(): JournalRecord[] {
    const out: JournalRecord[] = [{ t: 'start', at: this.startedAt }];
    for (const [room, r] of this.rooms) {
      if (r.floor > 0) out.push({ t: 'left', room, seq: r.floor });
      for (const [sender, created] of r.senderFloors) out.push({ t: 'floor', room, sender, created });
      for (const m of r.senders.values()) for (const s of m.values()) out.push({ t: 'in', s: serializeInbound(s) });
    }
    return out;
  }

  /** Applies one record read back from the journal. */
  private replay(rec: JournalRecord): void {
    switch (rec.t) {
      case 'in': {
        const s = deserializeInbound(rec.s);
        const old = this.get(s.room, s.sender, s.session);
        if (old) {
          zero(old);
          this.rooms.get(s.room)!.senders.get(s.sender)!.set(s.session, s);
        } else {
          // Our own record of a session held: it stays until a `gone` (no floor check here).
          this.insert(s);
          this.enforceSessionCaps(s.room, s.sender);
        }
        return;
      }
      case 'gone': {
        const g = goneSchema.parse(rec);
        const r = this.rooms.get(g.room);
        const s = r?.senders.get(g.sender)?.get(g.session);
        if (r && s) this.drop(r, g.sender, s);
        return;
      }
      case 'floor': {
        const f = floorSchema.parse(rec);
        const r = this.roomOf(f.room);
        r.senderFloors.set(f.sender, Math.max(r.senderFloors.get(f.sender) ?? -1, f.created));
        return;
      }
      case 'start': {
        const st = startSchema.parse(rec);
        this.startedAt = Math.max(this.startedAt, st.at);
        return;
      }
      case 'left': {
        const l = leftSchema.parse(rec);
        const r = this.roomOf(l.room);
        for (const [sender, sessions] of r.senders) for (const s of [...sessions.values()]) if (s.head.seq < l.seq) this.drop(r, sender, s);
        r.floor = Math.max(r.floor, l.seq);
        return;
      }
      default:
        throw new Error(`${this.journal.path} holds a record of unknown kind; move it aside to start the received sessions afresh`);
    }
  }
}

function keysOf(sessions: InboundSession[]): number {
  return sessions.reduce((n, s) => n + s.skipped.size, 0);
}

function zero(s: InboundSession): void {
  s.chainKey.fill(0);
  for (const k of s.skipped.values()) k.fill(0);
  s.skipped.clear();
}
