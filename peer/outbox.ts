// The outbox: my messages not yet acknowledged by every member they were for, in the engine's
// store (peer/store-db.ts), so a restart forgets none (DESIGN.md "Delivery, history, nothing
// lost"). Persistence only: peer/delivery.ts retries and reports. The room's display name is
// sealed (it is what the user typed); ids, sessions, seqs, times and member names stay clear.

import { MAX_COVERED, coversSchema, type MessageAction } from '../protocol/message-actions.ts';
import type { ConversationId } from '../protocol/peer.ts';
import { NAME_PATTERN } from '../protocol/names.ts';
import { arr, int, obj, str } from '../protocol/schema.ts';
import type { SqlRow, StoreDb } from './store-db.ts';

/** Expired (message, member) pairs remembered for history at most; the oldest go first. */
const MAX_EXPIRED_KEPT = 100_000;
/**
 * Mailbox withdrawals kept at most (each from a withdrawn entry's waiting members); past it the
 * oldest are forgotten, counted for the user to be told (takeForgottenWithdrawals).
 */
export const MAX_WITHDRAWALS_KEPT = 100_000;
/** Members one entry may wait for (a room's members at most). */
export const MAX_WAITING_PER_ENTRY = 1000;
/**
 * Kinds of entry evicted first when the outbox is over its cap (`expire`): a receipt or a reaction
 * lost costs a read mark or an emoji; a message (or an edit, or a delete) lost is what "nothing
 * lost" is about.
 */
const EVICTED_FIRST = `kind IN ('read', 'react')`;
/**
 * Entries the user is told about (left waiting, expired, unreached when a room is left or closed):
 * messages, edits and deletes, not read receipts nor reaction toggles ("2 of your messages" were
 * receipts). `o`: the outbox table's alias in the query.
 */
const TOLD = (o: string) => `${o}kind NOT IN ('read', 'react')`;
function told(r: SqlRow): boolean {
  return r.kind !== 'read' && r.kind !== 'react';
}
/** The columns entryOf reads (prefixed `o.` where the query joins). */
const COLUMNS = 'room, session, seq, id, sent_at, body, kind, target';
const O_COLUMNS = COLUMNS.split(', ').map((c) => `o.${c}`).join(', ');
/** An entry `o`'s stored `covers` (its action's), NULL when it covers none. */
const COVERS = '(SELECT c.covers FROM outbox_covers c WHERE c.room = o.room AND c.session = o.session AND c.seq = o.seq) AS covers';

const entrySchema = obj({
  room: str({ min: 1, max: 80 }),
  roomName: str({ max: 256 }),
  id: str({ min: 1, max: 64 }),
  session: str({ min: 1, max: 64 }),
  seq: int({ min: 0 }),
  sentAt: int({ min: 0 }),
});
const waitingSchema = arr(str({ pattern: NAME_PATTERN, max: 32 }), { max: MAX_WAITING_PER_ENTRY });

/** One message in the outbox (sentAt: my clock, ms). */
export interface OutboxEntry {
  room: ConversationId;
  roomName: string;
  id: string;
  session: string;
  seq: number;
  sentAt: number;
}

/** Where one of my messages is: what a mailbox deposit or withdrawal names. */
export interface MessagePlace {
  room: ConversationId;
  session: string;
  seq: number;
}

/** An entry with the members it still waits for (sorted). */
export interface PendingEntry extends OutboxEntry {
  waitingFor: string[];
  /** What it is when not a message: a read receipt, a reaction toggle, an edit or a delete. */
  kind?: MessageAction['t'];
}

export interface OutboxLimits {
  /** Mailbox withdrawals kept at most (default MAX_WITHDRAWALS_KEPT; smaller in tests). */
  maxWithdrawals?: number;
}

export class OutboxStore {
  /** Mailbox withdrawals kept at most. */
  readonly maxWithdrawals: number;
  /** Withdrawals forgotten past the bound since takeForgottenWithdrawals last asked. */
  private forgotten = 0;

  constructor(private readonly db: StoreDb, limits: OutboxLimits = {}) {
    this.maxWithdrawals = limits.maxWithdrawals ?? MAX_WITHDRAWALS_KEPT;
  }

  /**
   * Puts `entry` in the outbox waiting for `waitingFor` (deduplicated). An entry with nobody to
   * wait for is not stored; adding an entry again adds to whom it waits for. `action`: what the
   * entry is when it is a message action (none: a message). A newer action supersedes my older
   * entries it covers, for the members it waits for (they get it, so they need those no more):
   * - `read`: my receipts in the same conversation naming a message at or before its `upTo` (in
   *   the timeline's order, as peer/history.ts reads: the furthest position counts);
   * - `react`: my toggles of the same emoji on the same message (the newest is the state);
   * - `edit`: my edits of the same message (each carries the whole text; the newest wins).
   * Those entries stop waiting for those members, and leave when they wait for nobody; a copy
   * the tracker's mailbox holds for such a member is withdrawn (peer/mailbox.ts), unless
   * MAX_WITHDRAWALS_KEPT wait already (a deleted message's withdrawal is never pushed out for it;
   * the copy then stays there, harmless). The action's `covers` (what `covered` gave for it) is
   * kept with the entry, for a newer action covering it to name too. Returns how many withdrawals were recorded. Throws
   * ProtocolError('request.invalid') for an entry or names of the wrong shape. In the turn's
   * transaction (StoreDb.write): durable once `db.committed()` resolves.
   */
  add(entry: OutboxEntry, waitingFor: string[], action?: MessageAction): number {
    const e = entrySchema.parse(entry, 'outbox entry');
    const users = [...new Set(waitingSchema.parse(waitingFor, 'waitingFor'))];
    if (users.length === 0) return 0;
    const { kind, target } = actionColumns(action);
    return this.db.write(() => {
      const body = this.db.seal('outbox', identity(e, kind, target), e.roomName);
      const emoji = action?.t === 'react' ? this.db.seal('outbox_emoji', [e.room, e.session, e.seq, e.id], action.emoji) : null;
      this.db.run('INSERT OR IGNORE INTO outbox (room, session, seq, id, sent_at, body, kind, target, emoji) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [e.room, e.session, e.seq, e.id, e.sentAt, body, kind, target, emoji]);
      // What it covers, in the clear (sessions and seqs are): a newer action that covers it names them too (`covered`).
      if (action && 'covers' in action && action.covers?.length) {
        this.db.run('INSERT OR IGNORE INTO outbox_covers (room, session, seq, covers) VALUES (?, ?, ?, ?)', [e.room, e.session, e.seq, JSON.stringify(action.covers)]);
      }
      let added = 0;
      for (const u of users) added += this.db.run('INSERT OR IGNORE INTO outbox_waiting (room, session, seq, user) VALUES (?, ?, ?, ?)', [e.room, e.session, e.seq, u]);
      this.db.run('UPDATE outbox SET recipients = recipients + ? WHERE room = ? AND session = ? AND seq = ?', [added, e.room, e.session, e.seq]);
      return action ? this.supersede(e, action, users) : 0;
    });
  }

  /**
   * Where my older entries of `room` that `action` (not yet in the outbox) would supersede for
   * `users` are (those waiting for one of them: `add`'s rule, the same query), with what each of
   * them covered in turn (its own `covers`), newest first, at most MAX_COVERED seqs: the action's
   * `covers` (protocol/message-actions.ts), worked out before it is sealed. Empty for other actions.
   */
  covered(room: ConversationId, action: MessageAction, users: readonly string[]): { session: string; seqs: number[] }[] {
    const who = JSON.stringify([...users]);
    const rows = this.older(room, action, Number.MAX_SAFE_INTEGER)
      .filter((r) => this.db.get('SELECT 1 AS x FROM outbox_waiting WHERE room = ? AND session = ? AND seq = ? AND user IN (SELECT value FROM json_each(?))', [room, String(r.session), Number(r.seq), who]))
      .sort((a, b) => Number(b.rid) - Number(a.rid));
    const bySession = new Map<string, Set<number>>();
    let n = 0;
    const put = (session: string, seq: number) => {
      let seqs = bySession.get(session);
      if (!seqs) bySession.set(session, (seqs = new Set()));
      if (n < MAX_COVERED && !seqs.has(seq)) {
        seqs.add(seq);
        n++;
      }
    };
    for (const r of rows) {
      put(String(r.session), Number(r.seq));
      // Within a session a higher seq is newer: the newest go in first.
      for (const c of coversOf(r.covers)) for (const seq of [...c.seqs].reverse()) put(c.session, seq);
      if (n >= MAX_COVERED) break;
    }
    return [...bySession].filter(([, seqs]) => seqs.size > 0).map(([session, seqs]) => ({ session, seqs: [...seqs].sort((a, b) => a - b) }));
  }

  /**
   * My entries of `room` added before rowid `before` that `action` covers (`add`'s rule), as rows
   * of rid (rowid), room, session, seq, covers: what `supersede` drops and `covered` names.
   */
  private older(room: ConversationId, action: MessageAction, before: number): SqlRow[] {
    if (action.t === 'read') {
      // Row values compare in the timeline's order; an `upTo` not in history (NULL) covers none.
      return this.db.all(
        `SELECT o.rowid AS rid, o.room, o.session, o.seq, ${COVERS} FROM outbox o JOIN messages t ON t.conversation = o.room AND t.id = o.target AND t.kind = ''
         WHERE o.room = ?1 AND o.kind = 'read' AND o.target IS NOT NULL AND o.rowid < ?2
           AND (t.sent_at, t.sender, t.session, t.seq) <= (SELECT sent_at, sender, session, seq FROM messages WHERE conversation = ?1 AND id = ?3 AND kind = '')`,
        [room, before, action.upTo],
      );
    }
    if (action.t === 'edit') {
      return this.db.all(`SELECT o.rowid AS rid, o.room, o.session, o.seq, ${COVERS} FROM outbox o WHERE o.room = ? AND o.kind = 'edit' AND o.target = ? AND o.rowid < ?`, [room, action.of, before]);
    }
    if (action.t === 'react') {
      // My toggles on one message: a few per emoji at most, as each newer one makes the older go.
      return this.db.all(`SELECT o.rowid AS rid, o.room, o.session, o.seq, o.id, o.emoji, ${COVERS} FROM outbox o WHERE o.room = ? AND o.kind = 'react' AND o.target = ? AND o.rowid < ?`, [room, action.of, before])
        .filter((r) => r.emoji != null && this.db.open('outbox_emoji', [String(r.room), String(r.session), Number(r.seq), String(r.id)], r.emoji).toString('utf8') === action.emoji);
    }
    return [];
  }

  /** My older entries `action` (of entry `e`, waiting for `users`) covers: see `add`. Returns the withdrawals recorded. */
  private supersede(e: OutboxEntry, action: MessageAction, users: string[]): number {
    const self = this.db.get('SELECT rowid AS r FROM outbox WHERE room = ? AND session = ? AND seq = ?', [e.room, e.session, e.seq]);
    if (!self) return 0;
    const older = this.older(e.room, action, Number(self.r));
    const who = JSON.stringify(users);
    let withdrawn = 0;
    for (const r of older) {
      const at = [String(r.room), String(r.session), Number(r.seq)];
      // A copy in a member's mailbox is taken back while the bound allows (withdraw's table, not its overflow).
      const room = Math.max(0, this.maxWithdrawals - this.withdrawalsKept());
      if (room > 0) {
        withdrawn += this.db.run(
          `INSERT OR IGNORE INTO mailbox_withdrawals (room, session, seq, user)
           SELECT room, session, seq, user FROM outbox_waiting WHERE room = ? AND session = ? AND seq = ? AND deposited = 1 AND user IN (SELECT value FROM json_each(?)) LIMIT ?`,
          [...at, who, room],
        );
      }
      this.db.run('DELETE FROM outbox_waiting WHERE room = ? AND session = ? AND seq = ? AND user IN (SELECT value FROM json_each(?))', [...at, who]);
      this.db.run('DELETE FROM outbox WHERE room = ? AND session = ? AND seq = ? AND NOT EXISTS (SELECT 1 FROM outbox_waiting w WHERE w.room = outbox.room AND w.session = outbox.session AND w.seq = outbox.seq)', at);
    }
    return withdrawn;
  }

  /**
   * `user` acknowledged (room, session, seq): they are no longer waited for, and the entry goes
   * when nobody is. Returns the entry's id, room name, who it still waits for and how many
   * members it was for (`of`), or undefined when it was not waiting for `user` (unknown entry,
   * or acknowledged before).
   */
  delivered(room: ConversationId, session: string, seq: number, user: string): { id: string; roomName: string; remaining: string[]; of: number } | undefined {
    return this.db.write(() => {
      if (this.db.run('DELETE FROM outbox_waiting WHERE room = ? AND session = ? AND seq = ? AND user = ?', [room, session, seq, user]) === 0) return undefined;
      const row = this.db.get(`SELECT ${COLUMNS}, recipients FROM outbox WHERE room = ? AND session = ? AND seq = ?`, [room, session, seq]);
      if (!row) return undefined;
      const entry = this.entryOf(row);
      const remaining = this.waitingFor(room, session, seq);
      if (remaining.length === 0) this.db.run('DELETE FROM outbox WHERE room = ? AND session = ? AND seq = ?', [room, session, seq]);
      return { id: entry.id, roomName: entry.roomName, remaining, of: Number(row.recipients) };
    });
  }

  /** Every member some entry still waits for, sorted. */
  waitingUsers(): string[] {
    return this.db.all('SELECT DISTINCT user FROM outbox_waiting ORDER BY user').map((r) => String(r.user));
  }

  /** The members (room, session, seq) still waits for, sorted; empty when it is not in the outbox. */
  waitingFor(room: ConversationId, session: string, seq: number): string[] {
    return this.db.all('SELECT user FROM outbox_waiting WHERE room = ? AND session = ? AND seq = ? ORDER BY user', [room, session, seq]).map((r) => String(r.user));
  }

  /** Every entry, oldest first (by sentAt). */
  pending(): PendingEntry[] {
    return this.db.all(`SELECT ${COLUMNS} FROM outbox ORDER BY sent_at, rowid`)
      .map((r) => ({ ...this.entryOf(r), waitingFor: this.waitingFor(String(r.room), String(r.session), Number(r.seq)), ...(r.kind ? { kind: String(r.kind) as MessageAction['t'] } : {}) }));
  }

  /** The entries that wait for `user`, oldest first. */
  pendingFor(user: string): PendingEntry[] {
    return this.db.all(
      `SELECT ${O_COLUMNS} FROM outbox o JOIN outbox_waiting w
         ON w.room = o.room AND w.session = o.session AND w.seq = o.seq WHERE w.user = ? ORDER BY o.sent_at, o.rowid`,
      [user],
    ).map((r) => ({ ...this.entryOf(r), waitingFor: this.waitingFor(String(r.room), String(r.session), Number(r.seq)) }));
  }

  /**
   * The entries that wait for `user` and are not in their mailbox on the tracker (never deposited,
   * or dropped there since), oldest first.
   */
  undepositedFor(user: string): OutboxEntry[] {
    return this.db.all(
      `SELECT ${O_COLUMNS} FROM outbox o JOIN outbox_waiting w
         ON w.room = o.room AND w.session = o.session AND w.seq = o.seq WHERE w.user = ? AND w.deposited = 0 ORDER BY o.sent_at, o.rowid`,
      [user],
    ).map((r) => this.entryOf(r));
  }

  /** How many entries wait for `user` and are not in their mailbox on the tracker (as undepositedFor). */
  undepositedCount(user: string): number {
    return Number(this.db.get('SELECT count(*) AS n FROM outbox_waiting WHERE user = ? AND deposited = 0', [user])!.n);
  }

  /**
   * The tracker's mailbox confirmed holding these messages for `user` (a deposit it answered), or
   * (`held` false) dropped them unread. A message held there that no longer waits for `user` left
   * while the put was on the way (superseded, deleted, delivered, expired): nobody would take that
   * copy back, so a withdrawal is recorded for it at once, while MAX_WITHDRAWALS_KEPT allows
   * (harmless when `user` had it already). Returns how many were recorded: peer/mailbox.ts sends
   * them. Committed when it returns: a restart after a confirmed deposit never makes it again.
   */
  deposited(user: string, items: readonly MessagePlace[], held = true): number {
    return this.db.transaction(() => {
      let withdrawn = 0;
      for (const i of items) {
        const at = [i.room, i.session, i.seq, user];
        const marked = this.db.run('UPDATE outbox_waiting SET deposited = ? WHERE room = ? AND session = ? AND seq = ? AND user = ?', [held ? 1 : 0, ...at]);
        if (held && marked === 0 && this.withdrawalsKept() < this.maxWithdrawals) {
          withdrawn += this.db.run('INSERT OR IGNORE INTO mailbox_withdrawals (room, session, seq, user) VALUES (?, ?, ?, ?)', at);
        }
      }
      return withdrawn;
    });
  }

  /**
   * Removes the entries sent before `now - maxAgeMs`, then beyond `maxEntries` the oldest read
   * receipts and reactions, then the oldest of the rest (messages, edits, deletes), and returns
   * one row per (message, edit or delete; member it still waited for), oldest entry first: what
   * was never delivered, for the user to be told. In the turn's transaction.
   */
  expire(now: number, maxAgeMs: number, maxEntries: number): { room: ConversationId; roomName: string; id: string; user: string }[] {
    return this.db.write(() => {
      const old = this.db.all(`SELECT ${COLUMNS} FROM outbox WHERE sent_at < ? ORDER BY sent_at, rowid`, [now - maxAgeMs]);
      const total = Number(this.db.get('SELECT count(*) AS n FROM outbox')!.n);
      const over = Math.max(0, total - old.length - Math.max(0, maxEntries));
      const capped = over > 0
        ? this.db.all(`SELECT ${COLUMNS} FROM outbox WHERE sent_at >= ? ORDER BY ${EVICTED_FIRST} DESC, sent_at, rowid LIMIT ?`, [now - maxAgeMs, over])
        : [];
      const out: { room: ConversationId; roomName: string; id: string; user: string }[] = [];
      for (const r of [...old, ...capped]) {
        const e = this.entryOf(r);
        for (const user of told(r) ? this.waitingFor(e.room, e.session, e.seq) : []) {
          out.push({ room: e.room, roomName: e.roomName, id: e.id, user });
          this.db.run('INSERT OR IGNORE INTO outbox_expired (room, session, seq, user) VALUES (?, ?, ?, ?)', [e.room, e.session, e.seq, user]);
        }
        this.db.run('DELETE FROM outbox WHERE room = ? AND session = ? AND seq = ?', [e.room, e.session, e.seq]);
      }
      // What expired is remembered for history, the oldest forgotten beyond MAX_EXPIRED_KEPT.
      this.db.run('DELETE FROM outbox_expired WHERE rowid <= (SELECT max(rowid) FROM outbox_expired) - ?', [MAX_EXPIRED_KEPT]);
      return out;
    });
  }

  /**
   * `user` left `room` or was removed: nothing waits for them there any more. Returns the
   * messages, edits and deletes that waited for them (remembered as not delivered to them, as
   * `expire` does). In the turn's transaction.
   */
  dropMember(room: ConversationId, user: string): { room: ConversationId; roomName: string; id: string; user: string }[] {
    return this.db.write(() => {
      const rows = this.db.all(
        `SELECT ${O_COLUMNS} FROM outbox o JOIN outbox_waiting w
           ON w.room = o.room AND w.session = o.session AND w.seq = o.seq WHERE w.room = ? AND w.user = ? ORDER BY o.sent_at, o.rowid`,
        [room, user],
      );
      const out: { room: ConversationId; roomName: string; id: string; user: string }[] = [];
      for (const r of rows) {
        const e = this.entryOf(r);
        if (told(r)) {
          out.push({ room: e.room, roomName: e.roomName, id: e.id, user });
          this.db.run('INSERT OR IGNORE INTO outbox_expired (room, session, seq, user) VALUES (?, ?, ?, ?)', [e.room, e.session, e.seq, user]);
        }
        this.db.run('DELETE FROM outbox_waiting WHERE room = ? AND session = ? AND seq = ? AND user = ?', [e.room, e.session, e.seq, user]);
        if (this.waitingFor(e.room, e.session, e.seq).length === 0) this.db.run('DELETE FROM outbox WHERE room = ? AND session = ? AND seq = ?', [e.room, e.session, e.seq]);
      }
      return out;
    });
  }

  /** The members (room, session, seq) expired undelivered to, sorted (what `expire` returned for it). */
  expiredFor(room: ConversationId, session: string, seq: number): string[] {
    return this.db.all('SELECT user FROM outbox_expired WHERE room = ? AND session = ? AND seq = ? ORDER BY user', [room, session, seq]).map((r) => String(r.user));
  }

  /**
   * Drops the entry (room, session, seq): I deleted that message, nothing of it is to be
   * delivered. Each member it still waited for may have it in their mailbox on the tracker: a
   * withdrawal is kept for them, in the same transaction (so a crash loses neither or both), until
   * `withdrawalsDone`. Past the bound (MAX_WITHDRAWALS_KEPT) the oldest are forgotten, and counted
   * for takeForgottenWithdrawals: the delete itself is never refused (it still reaches every
   * member; only one away since may see the text first). Returns those members. In the turn's
   * transaction.
   */
  withdraw(room: ConversationId, session: string, seq: number): string[] {
    return this.db.write(() => {
      const users = this.waitingFor(room, session, seq);
      for (const u of users) this.db.run('INSERT OR IGNORE INTO mailbox_withdrawals (room, session, seq, user) VALUES (?, ?, ?, ?)', [room, session, seq, u]);
      // By count, not by rowid distance: rows answered in between leave gaps in the rowids.
      const over = users.length ? this.withdrawalsKept() - this.maxWithdrawals : 0;
      if (over > 0) this.forgotten += this.db.run('DELETE FROM mailbox_withdrawals WHERE rowid IN (SELECT rowid FROM mailbox_withdrawals ORDER BY rowid LIMIT ?)', [over]);
      this.db.run('DELETE FROM outbox WHERE room = ? AND session = ? AND seq = ?', [room, session, seq]);
      return users;
    });
  }

  /** How many withdrawals were forgotten past the bound since the last call (then 0 again). */
  takeForgottenWithdrawals(): number {
    const n = this.forgotten;
    this.forgotten = 0;
    return n;
  }

  /** How many mailbox withdrawals wait for the tracker's answer. */
  withdrawalsKept(): number {
    return Number(this.db.get('SELECT count(*) AS n FROM mailbox_withdrawals')!.n);
  }

  /** The oldest `limit` mailbox withdrawals not yet answered by the tracker, by member. */
  withdrawals(limit: number): Map<string, MessagePlace[]> {
    const out = new Map<string, MessagePlace[]>();
    for (const r of this.db.all('SELECT room, session, seq, user FROM mailbox_withdrawals ORDER BY rowid LIMIT ?', [limit])) {
      const user = String(r.user);
      let list = out.get(user);
      if (!list) out.set(user, (list = []));
      list.push({ room: String(r.room), session: String(r.session), seq: Number(r.seq) });
    }
    return out;
  }

  /** The tracker answered these withdrawals for `user` (or keeps no mailbox): they are forgotten. In the turn's transaction. */
  withdrawalsDone(user: string, items: readonly MessagePlace[]): void {
    this.db.write(() => {
      for (const i of items) this.db.run('DELETE FROM mailbox_withdrawals WHERE room = ? AND session = ? AND seq = ? AND user = ?', [i.room, i.session, i.seq, user]);
    });
  }

  /**
   * How many messages, edits and deletes of `room` reached no member: none acknowledged it, none
   * holds it in their mailbox. What reached one member spreads in catch-up; these would be lost
   * with the outbox (a receipt or a reaction lost costs no words the user wrote: not counted).
   */
  unreached(room: ConversationId): number {
    return Number(this.db.get(
      `SELECT count(*) AS n FROM outbox o WHERE o.room = ? AND ${TOLD('o.')}
         AND (SELECT count(*) FROM outbox_waiting w WHERE w.room = o.room AND w.session = o.session AND w.seq = o.seq) = o.recipients
         AND NOT EXISTS (SELECT 1 FROM outbox_waiting w WHERE w.room = o.room AND w.session = o.session AND w.seq = o.seq AND w.deposited = 1)`,
      [room],
    )!.n);
  }

  /** How many messages, edits and deletes of `room` still wait for a member, and who they wait for (sorted, at most `maxUsers`). */
  waitingIn(room: ConversationId, maxUsers: number): { messages: number; users: string[]; more: number } {
    const messages = Number(this.db.get(`SELECT count(*) AS n FROM outbox o WHERE o.room = ? AND ${TOLD('o.')} AND EXISTS (SELECT 1 FROM outbox_waiting w WHERE w.room = o.room AND w.session = o.session AND w.seq = o.seq)`, [room])!.n);
    const all = this.db.all(
      `SELECT DISTINCT w.user FROM outbox_waiting w JOIN outbox o ON o.room = w.room AND o.session = w.session AND o.seq = w.seq WHERE w.room = ? AND ${TOLD('o.')} ORDER BY w.user`,
      [room],
    ).map((r) => String(r.user));
    return { messages, users: all.slice(0, maxUsers), more: Math.max(0, all.length - maxUsers) };
  }

  /** Drops every entry of `room` (left, kicked, closed). In the turn's transaction. */
  forget(room: ConversationId): void {
    this.db.write(() => {
      this.db.run('DELETE FROM outbox WHERE room = ?', [room]);
      this.db.run('DELETE FROM outbox_expired WHERE room = ?', [room]);
    });
  }

  private entryOf(r: SqlRow): OutboxEntry {
    const room = String(r.room);
    const session = String(r.session);
    const seq = Number(r.seq);
    const id = String(r.id);
    const kind = r.kind == null ? '' : String(r.kind);
    const target = r.target == null ? null : String(r.target);
    const roomName = this.db.open('outbox', identity({ room, session, seq, id }, kind, target), r.body ?? null).toString('utf8');
    return { room, roomName, id, session, seq, sentAt: Number(r.sent_at) };
  }
}

/** An entry's stored `covers` (its action's, written by `add`); none when absent or unreadable. */
function coversOf(v: unknown): { session: string; seqs: number[] }[] {
  if (typeof v !== 'string') return [];
  try {
    return coversSchema.parse(JSON.parse(v), 'outbox covers');
  } catch {
    return [];
  }
}

/** An entry's clear `kind` and `target` columns (as peer/history.ts stores an action's): '' and null for a message. */
function actionColumns(action: MessageAction | undefined): { kind: string; target: string | null } {
  if (!action) return { kind: '', target: null };
  return { kind: action.t, target: action.t === 'read' ? action.upTo : action.of };
}

/**
 * What the sealed room name is bound to: a message entry's identity is the one entries had before
 * the action columns, so those still open; an action entry's adds its kind and target (one moved
 * to another kind or target does not open, so it cannot be made to supersede or be evicted as another).
 */
function identity(e: { room: string; session: string; seq: number; id: string }, kind: string, target: string | null): (string | number)[] {
  const base = [e.room, e.session, e.seq, e.id];
  return kind === '' && target === null ? base : [...base, kind, target ?? ''];
}
