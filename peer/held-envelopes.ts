// The signed session bundles and envelopes this client holds, in the engine's store
// (peer/store-db.ts), to forward to members who were offline and to serve catch-up (DESIGN.md
// "Delivery, history, nothing lost"). Forwarders need no trust: the receiver checks the original
// sender's signature, membership and replay state. What is held is bounded by `prune` (age, and
// a cap per room): members can make a client hold their envelopes, so the caller prunes.

import type { ConversationId, Envelope, SessionBundle } from '../protocol/peer.ts';
import { envelopeSchema, sessionBundleSchema } from '../protocol/peer.ts';
import { int } from '../protocol/schema.ts';
import type { SqlRow, StoreDb } from './store-db.ts';

/** The most envelopes one `after` call returns. */
export const MAX_AFTER_PAGE = 1000;
/**
 * The body of a claim (`claim`): one byte, never a sealed envelope's (those are far longer), nor
 * a tombstone's (empty). Found by its length: SQLite reads a blob's length from the row header,
 * never the blob (a room holds up to HELD_MAX_PER_ROOM envelopes of up to 1 MiB).
 */
const CLAIM = "x'00'";
const IS_CLAIM = (column: string) => `length(${column}) = 1`;

/** Per held sender session: the highest seq held with none missing from the session's first. */
export interface HeldSummary {
  sender: string;
  session: string;
  /**
   * The first seq is the held bundle's `start` (0 for a session announced when it began, as
   * peer/sender-keys.ts numbers messages from 0), or 0 without a bundle; first - 1 when the first
   * itself is missing.
   */
  seq: number;
}

/** Envelopes below a seq that holeBelow looks through. */
const HOLE_SPAN = 256;

export class HeldEnvelopes {
  constructor(private readonly db: StoreDb) {}

  /**
   * Holds `b` (schema-checked; ProtocolError('request.invalid') otherwise). One bundle per
   * (room, sender, session): one that opens from an earlier message replaces the one held.
   * Returns whether it was stored. In the turn's transaction (see StoreDb.write).
   */
  putBundle(b: SessionBundle, heldAt: number = Date.now()): boolean {
    const bundle = sessionBundleSchema.parse(b, 'bundle');
    return this.db.write(() => {
      const old = this.db.get('SELECT start FROM bundles WHERE room = ? AND sender = ? AND session = ?', [bundle.room, bundle.sender, bundle.session]);
      if (old && Number(old.start) <= bundle.start) return false;
      const body = this.db.seal('bundles', [bundle.room, bundle.sender, bundle.session, bundle.start], JSON.stringify(bundle));
      this.db.run('INSERT OR REPLACE INTO bundles (room, sender, session, start, held_at, body) VALUES (?, ?, ?, ?, ?, ?)',
        [bundle.room, bundle.sender, bundle.session, bundle.start, heldAt, body]);
      return true;
    });
  }

  /** The bundle held for (room, sender, session), or undefined. */
  bundle(room: ConversationId, sender: string, session: string): SessionBundle | undefined {
    const row = this.db.get('SELECT room, sender, session, start, body FROM bundles WHERE room = ? AND sender = ? AND session = ?', [room, sender, session]);
    if (!row) return undefined;
    const opened = this.db.open('bundles', [String(row.room), String(row.sender), String(row.session), Number(row.start)], row.body ?? null);
    return sessionBundleSchema.parse(JSON.parse(opened.toString('utf8')), 'held bundle');
  }

  /**
   * Holds `env` (schema-checked), received at `receivedAt` (ms). Returns false for a duplicate
   * by (room, sender, session, seq). In the turn's transaction.
   */
  putEnvelope(env: Envelope, receivedAt: number): boolean {
    const e = envelopeSchema.parse(env, 'envelope');
    return this.db.write(() => {
      const body = this.db.seal('envelopes', [e.room, e.sender, e.session, e.seq], JSON.stringify(e));
      // It takes a claim's place (held from now on, served to members who lack it); never a tombstone's.
      return this.db.run(`INSERT INTO envelopes (room, sender, session, seq, received_at, body) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (room, sender, session, seq) DO UPDATE SET body = excluded.body, received_at = excluded.received_at WHERE ${IS_CLAIM('envelopes.body')}`,
        [e.room, e.sender, e.session, e.seq, receivedAt, body]) === 1;
    });
  }

  /**
   * The envelope at (room, sender, session, seq) is a deleted message's (its author's delete
   * applied here): its ciphertext is dropped and a tombstone (an empty body) kept in its place, so
   * catch-up never serves it again while what is held still counts as held (summaries, gaps).
   * Also for one never received, whose delete closes the gap it left. In the turn's transaction.
   */
  tombstone(room: ConversationId, sender: string, session: string, seq: number, at: number): void {
    this.db.write(() => {
      this.db.run(`INSERT INTO envelopes (room, sender, session, seq, received_at, body) VALUES (?, ?, ?, ?, ?, x'')
         ON CONFLICT (room, sender, session, seq) DO UPDATE SET body = x''`, [room, sender, session, seq, at]);
    });
  }

  /**
   * A hole at (room, sender, session, seq) that its sender's delete names as a dead edit of the
   * message deleted: only the sender's word, so it is not counted as held in the summary (catch-up
   * still asks for it, and a member who holds a live envelope there serves it), but it is no gap
   * to show (`missing`, `holes` and gaps count it as held). An envelope arriving takes its place
   * (putEnvelope); so does a tombstone. Nothing held there already is replaced. In the turn's transaction.
   */
  claim(room: ConversationId, sender: string, session: string, seq: number, at: number): void {
    this.db.write(() => {
      this.db.run(`INSERT OR IGNORE INTO envelopes (room, sender, session, seq, received_at, body) VALUES (?, ?, ?, ?, ?, ${CLAIM})`, [room, sender, session, seq, at]);
    });
  }

  /** The claims held in `room` (`claim`), by sender, session, seq. */
  claims(room: ConversationId): { sender: string; session: string; seq: number }[] {
    return this.db.all(`SELECT sender, session, seq FROM envelopes WHERE room = ? AND ${IS_CLAIM('body')} ORDER BY sender, session, seq`, [room])
      .map((r) => ({ sender: String(r.sender), session: String(r.session), seq: Number(r.seq) }));
  }

  /**
   * Seqs of `sender`'s sessions in `room` that are not held but a later one is (holes inside what
   * is held, from the first seq each session holds with none missing), at most `limit`, in
   * (session, seq) order.
   */
  holes(room: ConversationId, sender: string, limit: number): { session: string; seq: number }[] {
    const out: { session: string; seq: number }[] = [];
    for (const r of this.db.all('SELECT session, max(seq) AS top FROM envelopes WHERE room = ? AND sender = ? GROUP BY session ORDER BY session', [room, sender])) {
      const session = String(r.session);
      const from = this.upTo(room, sender, session);
      const held = new Set(this.db.all('SELECT seq FROM envelopes WHERE room = ? AND sender = ? AND session = ? AND seq > ?', [room, sender, session, from]).map((x) => Number(x.seq)));
      for (let seq = from + 1; seq < Number(r.top) && out.length < limit; seq++) if (!held.has(seq)) out.push({ session, seq });
    }
    return out;
  }

  /**
   * The first seq below `below` of `sender`'s `session` in `room` that is not held while the one
   * before it is (a hole inside what is held: a message overtaken on the way), or undefined. Reads
   * at most HOLE_SPAN envelopes below `below` (a session of this client holds 100).
   */
  holeBelow(room: ConversationId, sender: string, session: string, below: number): number | undefined {
    const row = this.db.get(
      `SELECT min(e.seq) + 1 AS seq FROM envelopes e WHERE e.room = ?1 AND e.sender = ?2 AND e.session = ?3 AND e.seq >= ?4 - ?5 AND e.seq < ?4 - 1
         AND NOT EXISTS (SELECT 1 FROM envelopes n WHERE n.room = ?1 AND n.sender = ?2 AND n.session = ?3 AND n.seq = e.seq + 1)`,
      [room, sender, session, below, HOLE_SPAN],
    );
    return row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq);
  }

  /** The lowest and highest seq held (claims and tombstones too) of one session, or undefined: index seeks, no scan. */
  span(room: ConversationId, sender: string, session: string): { min: number; max: number } | undefined {
    const at = [room, sender, session];
    const min = this.db.get('SELECT min(seq) AS s FROM envelopes WHERE room = ? AND sender = ? AND session = ?', at);
    const max = this.db.get('SELECT max(seq) AS s FROM envelopes WHERE room = ? AND sender = ? AND session = ?', at);
    return min?.s == null || max?.s == null ? undefined : { min: Number(min.s), max: Number(max.s) };
  }

  /**
   * `sender`'s last seq held in each of their sessions of `room` (tombstones count: a deleted
   * message was sent; claims do not), the `limit` sessions most recently added to first: what a
   * leave or kick names as sent (protocol/room-log.ts `sent`).
   */
  lastSent(room: ConversationId, sender: string, limit: number): { session: string; seq: number }[] {
    return this.db.all(
      `SELECT session, max(seq) AS seq, max(received_at) AS at FROM envelopes WHERE room = ? AND sender = ? AND NOT ${IS_CLAIM('body')}
       GROUP BY session ORDER BY at DESC, session LIMIT ?`,
      [room, sender, limit],
    ).map((r) => ({ session: String(r.session), seq: Number(r.seq) }));
  }

  /** Every session held in `room` (with a bundle or an envelope), by sender then session. */
  summary(room: ConversationId): HeldSummary[] {
    const out: HeldSummary[] = [];
    const sessions = this.db.all(
      `SELECT sender, session FROM envelopes WHERE room = ? UNION SELECT sender, session FROM bundles WHERE room = ? ORDER BY sender, session`,
      [room, room],
    );
    for (const s of sessions) {
      const sender = String(s.sender);
      const session = String(s.session);
      // A claim is not held here: members who hold its envelope serve it (and what follows it).
      out.push({ sender, session, seq: this.upTo(room, sender, session, { claims: false }) });
    }
    return out;
  }

  /**
   * The highest seq of one session held with none missing from its first (the held bundle's
   * `start`, else 0); first - 1 when the first is not held. `claims: false`: a claim (`claim`)
   * counts as missing (the summary's view); by default it counts as held (gaps' view).
   */
  upTo(room: ConversationId, sender: string, session: string, opts: { claims?: boolean } = {}): number {
    const b = this.db.get('SELECT start FROM bundles WHERE room = ? AND sender = ? AND session = ?', [room, sender, session]);
    const first = b ? Number(b.start) : 0;
    const counted = (alias: string) => (opts.claims === false ? `AND NOT ${IS_CLAIM(`${alias}.body`)}` : '');
    // The first gap at or after `first`: the smallest held seq >= first whose successor is not held.
    const gap = this.db.get(
      `SELECT e.seq AS seq FROM envelopes e WHERE e.room = ?1 AND e.sender = ?2 AND e.session = ?3 AND e.seq >= ?4 ${counted('e')}
         AND NOT EXISTS (SELECT 1 FROM envelopes n WHERE n.room = ?1 AND n.sender = ?2 AND n.session = ?3 AND n.seq = e.seq + 1 ${counted('n')})
       ORDER BY e.seq LIMIT 1`,
      [room, sender, session, first],
    );
    const held = this.db.get(`SELECT 1 AS x FROM envelopes h WHERE h.room = ? AND h.sender = ? AND h.session = ? AND h.seq = ? ${counted('h')}`, [room, sender, session, first]);
    return held && gap ? Number(gap.seq) : first - 1;
  }

  /**
   * Per sender of `room` but `me`: how many messages are missing between the lowest and the
   * highest seq held of each of their sessions (gaps inside what is held; a gap before the first
   * envelope held is not counted: pruning by age makes those).
   */
  missing(room: ConversationId, me: string): { from: string; missing: number }[] {
    return this.db.all(
      `SELECT sender, sum(max_seq - min_seq + 1 - n) AS missing FROM
         (SELECT sender, max(seq) AS max_seq, min(seq) AS min_seq, count(*) AS n FROM envelopes WHERE room = ? AND sender <> ? GROUP BY sender, session)
       GROUP BY sender HAVING missing > 0 ORDER BY sender`,
      [room, me],
    ).map((r) => ({ from: String(r.sender), missing: Number(r.missing) }));
  }

  /**
   * Up to `limit` (1..MAX_AFTER_PAGE) envelopes of the session with seq > afterSeq, in seq order;
   * tombstones (deleted messages') and claims are left out, so a page can be shorter than `limit`
   * before the end.
   */
  after(room: ConversationId, sender: string, session: string, afterSeq: number, limit: number): Envelope[] {
    const n = int({ min: 1, max: MAX_AFTER_PAGE }).parse(limit, 'limit');
    return this.db.all(
      'SELECT room, sender, session, seq, body FROM envelopes WHERE room = ? AND sender = ? AND session = ? AND seq > ? AND length(body) > 1 ORDER BY seq LIMIT ?',
      [room, sender, session, afterSeq, n],
    ).map((r) => this.envelopeOf(r));
  }

  /** Every room with something held. */
  rooms(): ConversationId[] {
    return this.db.all('SELECT room FROM envelopes UNION SELECT room FROM bundles ORDER BY room').map((r) => String(r.room));
  }

  /**
   * Drops envelopes received before `now - maxAgeMs`, then, per room, those beyond `maxPerRoom`:
   * the oldest of the senders holding the most (a fair share each). A bundle goes when no envelope
   * of its session is left and it was held no later than its sender's envelopes dropped (a bundle that came after them, for messages still to come, stays)
   * or before `now - maxAgeMs`; bundles beyond `maxPerRoom` in a room go too, oldest first.
   * Returns how many envelopes went. In the turn's transaction.
   */
  prune(opts: { now: number; maxAgeMs: number; maxPerRoom: number }): number {
    const ageCutoff = opts.now - opts.maxAgeMs;
    return this.db.write(() => {
      let dropped = this.db.run('DELETE FROM envelopes WHERE received_at < ?', [ageCutoff]);
      // Over the cap, each sender's share: the oldest of whoever holds the most go first (each
      // sender's envelopes ranked from their newest; the highest ranks go). Oldest first across
      // senders, a member's flood (20,002 reaction toggles nobody sees) pushed out a real message
      // held for a member away, who then never got it.
      /** Per "room\nsender" that lost envelopes, the newest received_at dropped (a Map: ids come from peers). */
      const capCutoff = new Map<string, { room: string; sender: string; at: number }>();
      for (const r of this.db.all('SELECT room, count(*) AS n FROM envelopes GROUP BY room HAVING n > ?', [opts.maxPerRoom])) {
        const room = String(r.room);
        const victims = this.db.all(
          `SELECT rid, sender, received_at FROM (
             SELECT rowid AS rid, sender, received_at, row_number() OVER (PARTITION BY sender ORDER BY received_at DESC, rowid DESC) AS rank
             FROM envelopes WHERE room = ?
           ) ORDER BY rank DESC, received_at, rid LIMIT ?`,
          [room, Number(r.n) - opts.maxPerRoom],
        );
        for (const v of victims) {
          const key = `${room}\n${String(v.sender)}`;
          const at = Number(v.received_at);
          const was = capCutoff.get(key);
          if (!was || was.at < at) capCutoff.set(key, { room, sender: String(v.sender), at });
        }
        dropped += this.db.run('DELETE FROM envelopes WHERE rowid IN (SELECT value FROM json_each(?))', [JSON.stringify(victims.map((v) => Number(v.rid)))]);
      }
      const orphan = 'NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.room = bundles.room AND e.sender = bundles.sender AND e.session = bundles.session)';
      this.db.run(`DELETE FROM bundles WHERE held_at < ? AND ${orphan}`, [ageCutoff]);
      for (const { room, sender, at } of capCutoff.values()) this.db.run(`DELETE FROM bundles WHERE room = ? AND sender = ? AND held_at <= ? AND ${orphan}`, [room, sender, at]);
      for (const r of this.db.all('SELECT room, count(*) AS n FROM bundles GROUP BY room HAVING n > ?', [opts.maxPerRoom])) {
        this.db.run('DELETE FROM bundles WHERE rowid IN (SELECT rowid FROM bundles WHERE room = ? ORDER BY held_at, rowid LIMIT ?)', [String(r.room), Number(r.n) - opts.maxPerRoom]);
      }
      return dropped;
    });
  }

  /** Drops everything held for `room`. In the turn's transaction. */
  forget(room: ConversationId): void {
    this.db.write(() => {
      this.db.run('DELETE FROM envelopes WHERE room = ?', [room]);
      this.db.run('DELETE FROM bundles WHERE room = ?', [room]);
    });
  }

  private envelopeOf(r: SqlRow): Envelope {
    const opened = this.db.open('envelopes', [String(r.room), String(r.sender), String(r.session), Number(r.seq)], r.body ?? null);
    return envelopeSchema.parse(JSON.parse(opened.toString('utf8')), 'held envelope');
  }
}
