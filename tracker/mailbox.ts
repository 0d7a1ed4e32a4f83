// The mailbox that cannot read (`node tracker --mailbox`; DESIGN.md "Delivery, history, nothing
// lost"; Briar Mailbox is the model). Members leave sealed envelopes and session bundles here for
// members who are offline; the recipient takes them, oldest first, and acks them once stored, so
// a client that crashes before storing gets them again. The tracker is never a room member and
// gets no wrap: it stores the items as the JSON the client sent (the schema's fields only) and
// could not open them. What it does learn is metadata: who leaves items for whom, when, in which
// conversation, and their sizes.
//
// Rules, checked at every put (the receiving client checks signatures, membership and replays
// again; this is a first gate that keeps the store from being used against members):
// - the recipient is a registered user other than the depositor;
// - every item's sender is the depositor (nobody fills a mailbox with replays of others' envelopes);
// - a DM (`dm:<a>:<b>`) is between exactly the depositor and the recipient; a room is open and
//   both are its current members (a kicked or departed member gets nothing deposited);
// - a bundle holds a wrap for the recipient (one without is of no use to them).
// A session's bundle is kept once per depositor and recipient: clients send it with every deposit,
// and a repeat is acknowledged, not stored nor counted. It goes when no envelope of its session is
// left there (all taken, withdrawn or expired), and it ages with the newest deposit that named it.
// Bounds (flags): one user's mailbox holds at most maxItemsPerUser items and maxBytesPerUser bytes;
// one depositor may have at most as much waiting in all mailboxes together, and at most half of it
// in any one mailbox (so one member cannot fill someone's mailbox alone, nor everyone's). A put
// over a bound is refused whole (quota.exceeded; the sender keeps the message in its outbox),
// except a full mailbox: two depositors holding half each would shut everyone else out, so it is
// shared max-min fair, as peer/held-envelopes.ts shares held envelopes. The oldest envelopes of
// whoever holds the most there go, while they hold more than the depositor would with the put
// (a depositor holding as much as anyone is refused). Their depositors are told (`mailbox_dropped`,
// reason full) as for expiry; the messages still wait in their outboxes. Items older than
// maxAgeMs are deleted by a sweep (at each put, take and login, and every minute) and each
// depositor is told (`mailbox_dropped`): at once when online, else after its next login or resume. Notices waiting per depositor are bounded too.
// Withdrawing: a depositor takes back envelopes it left for a recipient (`mailbox_withdraw`: it
// deleted those messages, so their text must not reach anyone who has not yet taken them). Only
// rows whose depositor is the asker and whose recipient is the one named are ever removed, so
// nobody can take back someone else's items; an item already taken or expired is passed over.

import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import { dmRoom, isDmRoom } from '../protocol/peer.ts';
import {
  MAILBOX_MAX_DROPS_PER_EVENT,
  MAILBOX_MAX_ITEMS_PER_WITHDRAW,
  MAILBOX_TAKE_MAX_BYTES,
  type MailboxDrop,
  type MailboxEntry,
  type MailboxItem,
  type MailboxLimits,
  type MailboxWithdrawItem,
  type TrackerEvent,
} from '../protocol/tracker.ts';
import type { MailboxConfig } from './config.ts';
import type { Database, Statements } from './db.ts';
import type { Logger } from './log.ts';
import type { Rooms } from './rooms.ts';

/** Expired items deleted per transaction of a sweep (a sweep loops until none are left). */
const SWEEP_BATCH = 1000;
/** The sweep also runs on a timer, for a tracker nobody talks to. */
const SWEEP_INTERVAL_MS = 60_000;

/** Something that can receive a pushed event: a logged-in connection. */
export interface EventSink {
  sendEvent(event: TrackerEvent): void;
}

interface Totals {
  items: number;
  bytes: number;
}

interface StoredRow {
  id: number;
  depositor: string;
  bytes: number;
  body: string;
}

interface DropRow {
  id: number;
  recipient: string;
  room: string;
  session: string;
  seq: number | null;
  reason: string;
}

/** Where an item belongs: its conversation, sender, session and (for an envelope) seq. */
function describeItem(item: MailboxItem): { room: string; sender: string; session: string; seq: number | null; wrapsFor?: Set<string> } {
  if (item.t === 'envelope') {
    const e = item.envelope;
    return { room: e.room, sender: e.sender, session: e.session, seq: e.seq };
  }
  const b = item.bundle;
  return { room: b.room, sender: b.sender, session: b.session, seq: null, wrapsFor: new Set(b.wraps.map((w) => w.to)) };
}

/**
 * Deletes the session bundle `depositor` left for `to` in (room, session) when no envelope of that
 * session waits there any more (all taken, withdrawn or evicted): it would open nothing.
 */
async function dropSpentBundle(tx: Statements, depositor: string, to: string, room: string, session: string): Promise<void> {
  await tx.run(
    `DELETE FROM mailbox WHERE depositor = ?1 AND recipient = ?2 AND room = ?3 AND session = ?4 AND seq IS NULL
       AND NOT EXISTS (SELECT 1 FROM mailbox WHERE depositor = ?1 AND recipient = ?2 AND room = ?3 AND session = ?4 AND seq IS NOT NULL)`,
    depositor, to, room, session,
  );
}

export class Mailbox {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  /** Notice deliveries under way per depositor: one at a time, so no notice is sent twice. */
  private readonly delivering = new Map<string, Promise<void>>();

  /**
   * @param connectionsOf the logged-in connections of a user now (none when offline).
   * @param now the clock, in ms since the epoch.
   */
  constructor(
    private readonly db: Database,
    private readonly rooms: Rooms,
    private readonly connectionsOf: (user: string) => readonly EventSink[],
    private readonly log: Logger,
    readonly limits: MailboxConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** What the login and resume answers advertise. */
  get advertised(): MailboxLimits {
    return { maxItemsPerUser: this.limits.maxItemsPerUser, maxBytesPerUser: this.limits.maxBytesPerUser, maxAgeMs: this.limits.maxAgeMs };
  }

  /** Starts the periodic sweep (unref'd: it never keeps the process alive). */
  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  /** Stops the periodic sweep and waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /**
   * Stores `items` for `rawTo`, left by `depositor` (the logged-in user), all or none. Returns
   * how many were stored. Throws ProtocolError: request.invalid (no items, to oneself, an item
   * of someone else's or a bundle without a wrap for the recipient), auth.invalid_name,
   * user.not_found, room.not_found, room.closed, room.not_member (a DM of other people, or either
   * side not a current member of the room), quota.exceeded (a bound; nothing is stored).
   */
  async put(depositor: string, rawTo: string, items: MailboxItem[]): Promise<number> {
    if (!items.length) throw new ProtocolError('request.invalid', 'mailbox_put needs at least one item');
    const to = normalizeUserName(rawTo);
    if (to === depositor) throw new ProtocolError('request.invalid', 'a mailbox keeps items for other people; you cannot leave items for yourself');
    // First (and again in the transaction, for a delete meanwhile): "no such user" says more than any item's refusal.
    await this.requireUser(this.db, to);
    const rows = items.map((item, i) => {
      const about = describeItem(item);
      this.checkItem(depositor, to, about, i);
      return { ...about, body: JSON.stringify(item) };
    });
    await this.sweep();
    const evicted = new Set<string>();
    const stored = await this.db.transaction(async (tx) => {
      await this.requireUser(tx, to);
      // A session's bundle is kept once (each deposit carries it again): a repeat is acknowledged,
      // not stored nor counted, and makes the one held as young as this put, so it expires no
      // earlier than the envelopes it opens. It keeps its place, ahead of them in `take`.
      const fresh: typeof rows = [];
      const repeats: number[] = [];
      const bundles = new Set<string>();
      for (const r of rows) {
        if (r.seq === null) {
          const key = `${r.room} ${r.session}`;
          if (bundles.has(key)) continue;
          bundles.add(key);
          const held = await tx.get<{ id: number }>('SELECT id FROM mailbox WHERE depositor = ? AND recipient = ? AND room = ? AND session = ? AND seq IS NULL', depositor, to, r.room, r.session);
          if (held) {
            repeats.push(held.id);
            continue;
          }
        }
        fresh.push(r);
      }
      const bytes = fresh.reduce((n, r) => n + Buffer.byteLength(r.body, 'utf8'), 0);
      if (fresh.length) await this.makeRoom(tx, depositor, to, { items: fresh.length, bytes }, evicted);
      const received = this.now();
      for (const id of repeats) await tx.run('UPDATE mailbox SET received = ? WHERE id = ?', received, id);
      for (const r of fresh) {
        await tx.run(
          'INSERT INTO mailbox (recipient, depositor, room, session, seq, bytes, received, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          to, depositor, r.room, r.session, r.seq, Buffer.byteLength(r.body, 'utf8'), received, r.body,
        );
      }
      return fresh.length;
    });
    if (evicted.size) this.log('info', 'mailbox items evicted for a smaller depositor', { recipient: to, depositor, evicted: [...evicted].join(' ') });
    for (const d of evicted) if (this.connectionsOf(d).length) await this.deliverNotices(d);
    return stored;
  }

  /**
   * The oldest items waiting for `user`, at most `limit` and MAILBOX_TAKE_MAX_BYTES of them (at
   * least one, whatever its size); `more` when others wait after them. Nothing is deleted: see ack.
   */
  async take(user: string, limit: number): Promise<{ items: MailboxEntry[]; more: boolean }> {
    await this.sweep();
    const rows = await this.db.all<StoredRow>('SELECT id, depositor, bytes, body FROM mailbox WHERE recipient = ? ORDER BY id LIMIT ?', user, limit + 1);
    const items: MailboxEntry[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (items.length === limit || (items.length && bytes + row.bytes > MAILBOX_TAKE_MAX_BYTES)) break;
      bytes += row.bytes;
      items.push({ id: row.id, from: row.depositor, msg: JSON.parse(row.body) as MailboxItem });
    }
    return { items, more: rows.length > items.length };
  }

  /**
   * Deletes `user`'s items with ids up to and including `upTo`; returns how many went. A bundle
   * comes before its session's envelopes, so it goes with the first of them; one stored again
   * later (after those were taken) goes once no envelope of its session is left.
   */
  async ack(user: string, upTo: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const sessions = await tx.all<{ depositor: string; room: string; session: string }>(
        'SELECT DISTINCT depositor, room, session FROM mailbox WHERE recipient = ? AND id <= ? AND seq IS NOT NULL', user, upTo);
      const { changes } = await tx.run('DELETE FROM mailbox WHERE recipient = ? AND id <= ?', user, upTo);
      for (const s of sessions) await dropSpentBundle(tx, s.depositor, user, s.room, s.session);
      return changes;
    });
  }

  /**
   * Deletes the envelopes `depositor` left for `rawTo` at each item's (room, session, seq), in one
   * transaction; returns how many were there. Rows of other depositors, and of other recipients,
   * are never touched (the WHERE names both). Throws ProtocolError: request.invalid (no items, or
   * more than MAILBOX_MAX_ITEMS_PER_WITHDRAW), auth.invalid_name (`rawTo`).
   */
  async withdraw(depositor: string, rawTo: string, items: MailboxWithdrawItem[]): Promise<number> {
    if (!items.length) throw new ProtocolError('request.invalid', 'mailbox_withdraw needs at least one item');
    if (items.length > MAILBOX_MAX_ITEMS_PER_WITHDRAW) {
      throw new ProtocolError('request.invalid', `mailbox_withdraw names at most ${MAILBOX_MAX_ITEMS_PER_WITHDRAW} items (got ${items.length}); send the rest in further requests`);
    }
    const to = normalizeUserName(rawTo);
    const removed = await this.db.transaction(async (tx) => {
      let n = 0;
      const sessions = new Map<string, MailboxWithdrawItem>();
      for (const i of items) {
        n += (await tx.run('DELETE FROM mailbox WHERE depositor = ? AND recipient = ? AND room = ? AND session = ? AND seq = ?', depositor, to, i.room, i.session, i.seq)).changes;
        sessions.set(`${i.room} ${i.session}`, i);
      }
      // Counted: the envelopes named. A bundle left with no envelope to open goes too.
      for (const i of sessions.values()) await dropSpentBundle(tx, depositor, to, i.room, i.session);
      return n;
    });
    this.log('info', 'mailbox items withdrawn', { depositor, recipient: to, named: items.length, removed });
    return removed;
  }

  /** After a login or resume of `user`: sweep, then send the notices kept for it. */
  async sessionStarted(user: string): Promise<void> {
    await this.sweep();
    await this.deliverNotices(user);
  }

  /**
   * Deletes every item older than maxAgeMs, keeps a notice for each depositor (in the same
   * transaction: a crash loses neither), and pushes the notices of depositors online now. Calls
   * during a sweep share it.
   */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepNow()
      .catch((err: unknown) => this.log('error', 'mailbox sweep failed', { reason: String((err as Error)?.stack ?? err).slice(0, 2000) }))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepNow(): Promise<void> {
    const cutoff = this.now() - this.limits.maxAgeMs;
    const told = new Set<string>();
    let expired = 0;
    for (;;) {
      const batch = await this.db.transaction(async (tx) => {
        const rows = await tx.all<{ id: number; recipient: string; depositor: string; room: string; session: string; seq: number | null }>(
          'SELECT id, recipient, depositor, room, session, seq FROM mailbox WHERE received <= ? ORDER BY id LIMIT ?', cutoff, SWEEP_BATCH);
        if (!rows.length) return 0;
        const created = this.now();
        for (const r of rows) {
          await tx.run('INSERT INTO mailbox_drops (depositor, recipient, room, session, seq, reason, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
            r.depositor, r.recipient, r.room, r.session, r.seq, 'expired', created);
          told.add(r.depositor);
        }
        await tx.run(`DELETE FROM mailbox WHERE id IN (${rows.map(() => '?').join(',')})`, ...rows.map((r) => r.id));
        for (const depositor of new Set(rows.map((r) => r.depositor))) await this.capNotices(tx, depositor);
        return rows.length;
      });
      expired += batch;
      if (batch < SWEEP_BATCH) break;
    }
    if (!expired) return;
    this.log('info', 'mailbox items expired', { items: expired, depositors: told.size });
    for (const depositor of told) if (this.connectionsOf(depositor).length) await this.deliverNotices(depositor);
  }

  /**
   * A depositor's notices are bounded by maxItemsPerUser (what it can have waiting at once); past
   * that the oldest notices go, and the log says so.
   */
  private async capNotices(tx: Statements, depositor: string): Promise<void> {
    const { changes } = await tx.run(
      `DELETE FROM mailbox_drops WHERE depositor = ? AND id NOT IN
         (SELECT id FROM mailbox_drops WHERE depositor = ? ORDER BY id DESC LIMIT ?)`,
      depositor, depositor, this.limits.maxItemsPerUser,
    );
    if (changes) this.log('warn', 'mailbox drop notices cut: too many waiting for one depositor', { depositor, cut: changes });
  }

  /** Pushes the notices kept for `user` to its connections and deletes them (one delivery per user at a time). */
  private deliverNotices(user: string): Promise<void> {
    const run = (this.delivering.get(user) ?? Promise.resolve()).then(() => this.deliverNow(user));
    const tail = run.catch((err: unknown) => this.log('error', 'mailbox notices not delivered', { user, reason: String(err).slice(0, 500) }));
    this.delivering.set(user, tail);
    void tail.then(() => {
      if (this.delivering.get(user) === tail) this.delivering.delete(user);
    });
    return tail;
  }

  private async deliverNow(user: string): Promise<void> {
    const conns = this.connectionsOf(user);
    if (!conns.length) return;
    const rows = await this.db.all<DropRow>('SELECT id, recipient, room, session, seq, reason FROM mailbox_drops WHERE depositor = ? ORDER BY id', user);
    if (!rows.length) return;
    // One event per recipient and MAILBOX_MAX_DROPS_PER_EVENT items, in the order they were dropped.
    const byRecipient = new Map<string, MailboxDrop[]>();
    for (const r of rows) {
      let list = byRecipient.get(r.recipient);
      if (!list) byRecipient.set(r.recipient, (list = []));
      list.push({ room: r.room, sender: user, session: r.session, ...(r.seq !== null ? { seq: r.seq } : {}), reason: r.reason === 'full' ? 'full' : 'expired' });
    }
    for (const [to, drops] of byRecipient) {
      for (let i = 0; i < drops.length; i += MAILBOX_MAX_DROPS_PER_EVENT) {
        const event: TrackerEvent = { event: 'mailbox_dropped', to, items: drops.slice(i, i + MAILBOX_MAX_DROPS_PER_EVENT) };
        for (const conn of conns) conn.sendEvent(event);
      }
    }
    await this.db.run('DELETE FROM mailbox_drops WHERE depositor = ? AND id <= ?', user, rows[rows.length - 1].id);
  }

  private async requireUser(st: Statements, user: string): Promise<void> {
    if (!(await st.get('SELECT 1 FROM users WHERE name = ?', user))) throw new ProtocolError('user.not_found', `there is no user named ${user}`);
  }

  /** The rules of one item (see the file's head); `i` names it in the refusal. */
  private checkItem(depositor: string, to: string, about: ReturnType<typeof describeItem>, i: number): void {
    const which = `item ${i} (${about.seq === null ? 'session bundle' : 'envelope'})`;
    if (about.sender !== depositor) {
      throw new ProtocolError('request.invalid', `${which} was sent by ${about.sender}, not by you: a mailbox keeps only your own messages`);
    }
    if (isDmRoom(about.room)) {
      if (about.room !== dmRoom(depositor, to)) throw new ProtocolError('room.not_member', `${which} belongs to ${about.room}, not to your conversation with ${to}`);
    } else {
      const room = this.rooms.byId(about.room);
      if (!room) throw new ProtocolError('room.not_found', `${which}: no such room`);
      if (room.closed) throw new ProtocolError('room.closed', `${which}: room ${room.name} is closed`);
      if (!room.members.has(depositor)) throw new ProtocolError('room.not_member', `${which}: you are not a member of room ${room.name}`);
      if (!room.members.has(to)) throw new ProtocolError('room.not_member', `${which}: ${to} is not a member of room ${room.name} (left or was removed); nothing is kept for them`);
    }
    if (about.wrapsFor && !about.wrapsFor.has(to)) throw new ProtocolError('request.invalid', `${which} holds no key for ${to}`);
  }

  /**
   * Refuses (quota.exceeded) a put of `adding` that would pass a depositor's bound, or a full
   * mailbox where `depositor` would hold as much as anyone; else, when the mailbox is full, evicts
   * the oldest envelopes of whoever holds the most there (see the file's head), adding their
   * depositors to `evicted` (their notices are kept in `tx`, to be sent after it).
   */
  private async makeRoom(tx: Statements, depositor: string, to: string, adding: Totals, evicted: Set<string>): Promise<void> {
    const sum = (where: string, ...params: string[]) =>
      tx.get<Totals>(`SELECT COUNT(*) AS items, COALESCE(SUM(bytes), 0) AS bytes FROM mailbox WHERE ${where}`, ...params) as Promise<Totals>;
    const { maxItemsPerUser: maxItems, maxBytesPerUser: maxBytes } = this.limits;
    const over = (t: Totals, items: number, bytes: number) => t.items + adding.items > items || t.bytes + adding.bytes > bytes;
    const held = (t: Totals) => `${t.items} items, ${t.bytes} bytes`;
    const keep = 'nothing was stored: the message stays in your outbox and goes when they are online';
    const mine = await sum('depositor = ?', depositor);
    if (over(mine, maxItems, maxBytes)) {
      throw new ProtocolError('quota.exceeded', `you have ${held(mine)} waiting in mailboxes, and may have at most ${maxItems} items, ${maxBytes} bytes; ${keep}`);
    }
    const pair = await sum('depositor = ? AND recipient = ?', depositor, to);
    const [pairItems, pairBytes] = [Math.floor(maxItems / 2), Math.floor(maxBytes / 2)];
    if (over(pair, pairItems, pairBytes)) {
      throw new ProtocolError('quota.exceeded', `your share of ${to}'s mailbox is full: you have ${held(pair)} waiting there, and may have at most half of it (${pairItems} items, ${pairBytes} bytes); ${keep}`);
    }
    const box = await sum('recipient = ?', to);
    if (!over(box, maxItems, maxBytes)) return;
    // Full: max-min fair. Each holder's weight is the larger of its items' and bytes' fraction; the
    // heaviest other holder loses its oldest envelope while it is heavier than this depositor with
    // the put. Its re-deposit of what went would make it as heavy as before: refused, no ping-pong.
    const weight = (t: Totals) => Math.max(t.items / maxItems, t.bytes / maxBytes);
    const holders = new Map((await tx.all<Totals & { depositor: string }>(
      'SELECT depositor, COUNT(*) AS items, SUM(bytes) AS bytes FROM mailbox WHERE recipient = ? GROUP BY depositor', to)).map((r) => [r.depositor, { items: r.items, bytes: r.bytes }]));
    const own = holders.get(depositor) ?? { items: 0, bytes: 0 };
    const mineThen = weight({ items: own.items + adding.items, bytes: own.bytes + adding.bytes });
    const created = this.now();
    while (over(box, maxItems, maxBytes)) {
      let heaviest: [string, Totals] | undefined;
      for (const h of holders) if (h[0] !== depositor && (!heaviest || weight(h[1]) > weight(heaviest[1]))) heaviest = h;
      const victim = heaviest && weight(heaviest[1]) > mineThen
        ? await tx.get<{ id: number; room: string; session: string; seq: number | null }>(
          // Envelopes first (a bundle goes with its last one); a bundle left alone last.
          'SELECT id, room, session, seq FROM mailbox WHERE recipient = ? AND depositor = ? ORDER BY seq IS NULL, id LIMIT 1', to, heaviest[0])
        : undefined;
      if (!heaviest || !victim) {
        throw new ProtocolError('quota.exceeded', `${to}'s mailbox is full (${held(box)}; it holds at most ${maxItems} items, ${maxBytes} bytes), and nobody holds more of it than you would; ${keep}`);
      }
      const [who, t] = heaviest;
      const before = await sum('depositor = ? AND recipient = ?', who, to);
      await tx.run('DELETE FROM mailbox WHERE id = ?', victim.id);
      await dropSpentBundle(tx, who, to, victim.room, victim.session);
      const after = await sum('depositor = ? AND recipient = ?', who, to);
      const [items, bytes] = [before.items - after.items, before.bytes - after.bytes];
      [t.items, t.bytes, box.items, box.bytes] = [t.items - items, t.bytes - bytes, box.items - items, box.bytes - bytes];
      await tx.run('INSERT INTO mailbox_drops (depositor, recipient, room, session, seq, reason, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
        who, to, victim.room, victim.session, victim.seq, 'full', created);
      await this.capNotices(tx, who);
      evicted.add(who);
    }
  }
}
