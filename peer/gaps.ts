// Gaps: messages of a sender known to exist (a later sequence of the same session arrived, signed
// by the sender: a member's claim alone is not enough) that have not arrived yet. Shown to the
// user, never hidden ("12 messages from carol not received yet"), and cleared when they arrive.
// Bounded by what a receiver keeps of sessions anyway (protocol/peer.ts MAX_SESSIONS_PER_SENDER,
// MAX_SKIPPED_KEYS_PER_SENDER: a later seq beyond those does not decrypt, so never gets here).

import { MAX_SESSIONS_PER_SENDER, MAX_SKIPPED_KEYS_PER_SENDER, type ConversationId } from '../protocol/peer.ts';

/** Sessions tracked per (conversation, sender), senders per conversation, at most; the oldest go first. */
const MAX_SESSIONS_TRACKED = MAX_SESSIONS_PER_SENDER;
const MAX_SENDERS_TRACKED = 1024;
/** Missing sequences counted per session at most (what a receiver keeps skipped keys for). */
const MAX_MISSING_PER_SESSION = MAX_SKIPPED_KEYS_PER_SENDER;

interface SessionGap {
  /** Every sequence below this has arrived or is counted in `missing`. */
  next: number;
  missing: Set<number>;
  /** Sequences at or beyond `next` their sender said not to expect (`passOver`): never counted missing. */
  skipped: Set<number>;
}

export class Gaps {
  /** conversation -> sender -> session -> its gap. */
  private readonly rooms = new Map<ConversationId, Map<string, Map<string, SessionGap>>>();

  /** `changed(room, sender, missing)` is called when a sender's missing count changes. */
  constructor(private readonly changed: (room: ConversationId, sender: string, missing: number) => void) {}

  /**
   * A message arrived (`seq` in `session`; `held()` gives the highest sequence held with none
   * missing before it arrived, -1 for none, asked only for a session not seen yet in this run).
   * Reports a new or smaller gap.
   */
  arrived(room: ConversationId, sender: string, session: string, seq: number, held: () => number): void {
    const gap = this.session(room, sender, session, held);
    const before = this.missing(room, sender);
    if (seq >= gap.next) {
      for (let s = gap.next; s < seq && gap.missing.size < MAX_MISSING_PER_SESSION; s++) if (!gap.skipped.has(s)) gap.missing.add(s);
      gap.next = seq + 1;
      for (const s of gap.skipped) if (s < gap.next) gap.skipped.delete(s);
    } else {
      gap.missing.delete(seq);
    }
    const after = this.missing(room, sender);
    if (after !== before) this.changed(room, sender, after);
  }

  /**
   * `sender`'s action said these `seqs` of their `session` are superseded (protocol/message-actions.ts
   * `covers`): they are not counted missing, whether counted already or still ahead of what arrived
   * (remembered, at most MAX_MISSING_PER_SESSION per session, so a later arrival does not count
   * them). One arriving after all is taken as usual. `held` as for `arrived`. Reports a smaller gap.
   */
  passOver(room: ConversationId, sender: string, session: string, seqs: readonly number[], held: () => number): void {
    const gap = this.session(room, sender, session, held);
    const before = this.missing(room, sender);
    for (const s of seqs) {
      if (s < gap.next) gap.missing.delete(s);
      else if (gap.skipped.size < MAX_MISSING_PER_SESSION) gap.skipped.add(s);
    }
    const after = this.missing(room, sender);
    if (after !== before) this.changed(room, sender, after);
  }

  /** What is missing of `sender` in `room`, over all of their sessions. */
  missing(room: ConversationId, sender: string): number {
    let n = 0;
    for (const gap of this.rooms.get(room)?.get(sender)?.values() ?? []) n += gap.missing.size;
    return n;
  }

  forget(room?: ConversationId): void {
    if (room === undefined) this.rooms.clear();
    else this.rooms.delete(room);
  }

  private session(room: ConversationId, sender: string, session: string, held: () => number): SessionGap {
    let senders = this.rooms.get(room);
    if (!senders) this.rooms.set(room, (senders = new Map()));
    let sessions = senders.get(sender);
    if (!sessions) {
      senders.set(sender, (sessions = new Map()));
      if (senders.size > MAX_SENDERS_TRACKED) senders.delete(senders.keys().next().value!);
    }
    let gap = sessions.get(session);
    if (!gap) {
      gap = { next: held() + 1, missing: new Set(), skipped: new Set() };
      sessions.set(session, gap);
      if (sessions.size > MAX_SESSIONS_TRACKED) sessions.delete(sessions.keys().next().value!);
    }
    return gap;
  }
}
