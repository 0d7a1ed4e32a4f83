// Every conversation's messages, in the engine's one store (peer/store-db.ts): appended as they
// are shown, read in pages from the newest backwards. DESIGN.md "Delivery, history, nothing lost".
//
// One order: (sentAt, from, session, seq), compared as numbers and as the bytes of the strings
// (names and session ids are ASCII), stable across restarts. A shown message's `sentAt` is its
// sender's signed time, but never later than it arrived here (peer/timeline-time.ts, DESIGN.md
// "Timeline order"): with clocks in step every member shows a room's messages in the same order;
// a message dated ahead of a member's clock is placed there when it came. A message that arrives
// after one later in that order is placed where it belongs and marked `late`.
//
// Action messages (issue 12: reactions, edits, deletes, read receipts) are rows here too, with
// `kind` and `target` columns (peer/store-schema.ts step 2); pages show only plain messages, and
// peer/message-actions.ts works out what the actions did to them.

import { snippetSchema, type ConversationId } from '../protocol/peer.ts';
import { MAX_READ_HAD, messageActionSchema, messageIdSchema, type MessageAction, type MessageActionType } from '../protocol/message-actions.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { NAME_PATTERN } from '../protocol/names.ts';
import { MAX_TEXT_BYTES } from '../protocol/text-limit.ts';
import { int, obj, optional, str, type Infer } from '../protocol/schema.ts';
import { OpenedRows } from './opened-rows.ts';
import type { SqlRow, StoreDb } from './store-db.ts';

/** The most messages one page may ask for. */
export const MAX_PAGE = 500;

/** What is sealed in a row's body: the content, never an index column. */
const contentSchema = obj({
  text: str({ max: MAX_TEXT_BYTES, maxBytes: MAX_TEXT_BYTES }),
  snippet: optional(snippetSchema),
  replyTo: optional(messageIdSchema),
  action: optional(messageActionSchema),
});
const conversationSchema = str({ min: 1, max: 80 });
const storedSchema = obj({
  conversation: conversationSchema,
  id: str({ min: 1, max: 64 }),
  from: str({ pattern: NAME_PATTERN, max: 32 }),
  session: str({ min: 1, max: 64 }),
  seq: int({ min: 0 }),
  sentAt: int({ min: 0 }),
});

/** A code snippet shared with a message, as the wire carries it (protocol/peer.ts snippetSchema: its `wholeLines` too). */
export type StoredSnippet = Infer<typeof snippetSchema>;

/**
 * One message of a conversation as history keeps it. `sentAt` (ms): an action's signed time; a
 * shown message's place in the timeline (its signed time, or when it arrived here if that was
 * earlier: peer/timeline-time.ts).
 */
export interface StoredMessage {
  conversation: ConversationId;
  id: string;
  from: string;
  session: string;
  seq: number;
  sentAt: number;
  text: string;
  snippet?: StoredSnippet;
  /** The id of the message of this conversation it answers. */
  replyTo?: string;
  /** What it does to an earlier message (protocol/message-actions.ts); such a row is never shown itself. */
  action?: MessageAction;
  /** Set by add: a message later in the order was already stored when this one arrived. */
  late?: boolean;
}

/**
 * A member's read position (History.reads): up to and including message `upTo`; `mine`, when
 * asked for and their receipt says what they had: the newest of my messages they had (null: none).
 * A modified client may name one after `upTo`: what is seen goes up to the earlier of the two
 * (webview/seen-by.ts).
 */
export interface ReadPosition {
  user: string;
  upTo: string;
  mine?: string | null;
}

/** Where a history page is read (History.page): at most one of them; none for the newest page. */
export interface PageCursor {
  before?: string;
  after?: string;
  around?: string;
}

const COLUMNS = 'conversation, id, sender, session, seq, sent_at, late, kind, target, body';
const NEWEST_FIRST = 'ORDER BY sent_at DESC, sender DESC, session DESC, seq DESC';
const OLDEST_FIRST = 'ORDER BY sent_at, sender, session, seq';
/**
 * Rows of a sender's session read after a message for its successors' timeline time (`nextOfSender`):
 * more than a whole session of this client (SESSION_MAX_MESSAGES); a longer one (a modified
 * client's) only loses its own order.
 */
const NEXT_OF_SENDER_ROWS = 256;
/** Rows read per query by withSnippets (snippet rows, and rows not yet known to hold one or not). */
const SNIPPET_BATCH = 200;
/** Rows of the shown-messages loader (`shown`) read per query. */
const SHOWN_BATCH = 2000;
/**
 * Action rows of one kind on one message counted one by one (senderCounts): beyond, each sender is
 * counted apart (SENDER_COUNTS). A lively message's reactions fit; a flood does not.
 */
const FEW_ACTIONS = 256;
/**
 * Each sender of action rows of one kind on one message (?1 conversation, ?2 target, ?3 kind), found
 * by skipping from one sender to the next in messages_actions (a seek each, not a scan of their
 * rows), with their row count up to ?4 (at most that many index entries read each). Exported for
 * its query plan's test.
 */
export const SENDER_COUNTS = `WITH RECURSIVE senders(sender) AS (
    SELECT min(sender) FROM messages WHERE conversation = ?1 AND target = ?2 AND kind = ?3
    UNION ALL
    SELECT (SELECT min(sender) FROM messages WHERE conversation = ?1 AND target = ?2 AND kind = ?3 AND sender > senders.sender)
    FROM senders WHERE senders.sender IS NOT NULL
  )
  SELECT sender, (SELECT count(*) FROM (SELECT 1 FROM messages WHERE conversation = ?1 AND target = ?2 AND kind = ?3 AND sender = senders.sender LIMIT ?4)) AS n
  FROM senders WHERE sender IS NOT NULL`;
/**
 * Read receipts of one sender in one conversation kept while the message they name is not here
 * (History.pruneReads), the newest by arrival. Such a receipt is kept because the message may
 * still come (catch-up and forwarders bring messages and receipts in any order), and then it
 * counts as a read position; but only the furthest position counts, and a reader's newest receipts
 * name their furthest reading, so the older ones lose little when dropped: at worst a position
 * shown behind until the reader's next receipt. Unbounded, anyone could DM (or a room member send)
 * receipts naming made-up ids without end, each kept for ever and gone through on every receipt.
 */
export const MAX_PENDING_READS = 8;
/**
 * Reactions and edits of one sender in one conversation kept while the message they name is not a
 * message here (not here yet, made up, or an action row), by kind, the newest by arrival
 * (History.prunePending). Such an action is kept because its message may still come; unbounded,
 * a member made every other member keep, without end and never shown, edits of up to 64 KiB and
 * reactions naming made-up ids (120 such edits were 8.7 MiB in each member's store).
 * - react, 128: catch-up serves a sender's sessions in the order they were made, each whole, so a
 *   member back from an absence gets a session's reactions before the messages they name that are
 *   in sessions made after it: up to a session's worth at once (SESSION_MAX_MESSAGES, 100). A
 *   reaction row carries no text (an emoji of at most 32 characters).
 * - edit, 8 (as MAX_PENDING_READS): an edit comes after its message in its author's own sessions,
 *   so one waits here only when its message was lost on the way (a forwarder's held cap or age).
 * - delete, 256: a message (or an edit of it) that arrives after its delete must still lose its
 *   text here, so many are kept; but without a bound a member made every other member keep
 *   deletes of made-up ids for ever (up to 64 edit ids, ~1.6 KB, each). An honest member's wait
 *   only while catch-up or the mailbox brings a message after its delete, or for ever when its
 *   message came before this member joined (never theirs to get): the newest 256 cover the first.
 * Receipts: pruneReads.
 */
export const MAX_PENDING_ACTIONS = { react: 128, edit: 8, delete: 256 } as const;
/**
 * A sender's newest action rows of one kind in a conversation that prunePending looks through (by
 * arrival): one call costs at most this many index entries and lookups, however many actions the
 * sender has on messages here. Pending rows older than this many rows of theirs stay; to keep one
 * there a member must send that many actions on messages that are here (shown, and each bounded:
 * reactions per message, edits per message), so what they hide is a fraction of what they show.
 */
export const PENDING_WINDOW = 1024;
/**
 * Shown rows up to a receipt's message read for its `had` (History.heldUpTo): one index entry each.
 * Measured on a busy 2-core machine, 100,000 messages: median 4.5 ms with 20 senders, 14 ms with
 * 300 (256 named), once per receipt sent (at most every 2 s per conversation: extension/read-state.ts).
 */
export const HAD_WINDOW = 2000;
/**
 * Receipts whose `had` History.reads keeps parsed (a receipt row never changes): a 250-member room
 * twice over; an entry is at most MAX_READ_HAD ids (~16 kB).
 */
const RECEIPTS_KEPT = 512;
/** Reaction rows History.pruneReactions drops at most per call. */
const PRUNED_REACTIONS = 16;
/** Reaction rows kept opened (OpenedRows): a busy message's worth twice over (MAX_REACTION_ROWS). */
const OPENED_REACTIONS = 4096;

export class History {
  /** Reaction rows opened, kept: every arrival or send of a reaction reads a message's again. */
  private readonly opened = new OpenedRows<StoredMessage>(OPENED_REACTIONS);
  /**
   * Receipt rows as History.reads last read them, by rowid and id (a rowid freed by pruneReads may
   * be used again, never with the same id): `had` parsed (null: none), and `mine` for the `me`
   * asked with while its `at` is `shownChanges` (no shown row added or deleted since).
   */
  private readonly receipts = new Map<string, { had: readonly string[] | null; mine?: { me: string; at: number; id: string | null } }>();
  /**
   * Bumped whenever a shown row of `mineOf` (the `me` reads was last asked with; any sender's
   * before that) may have come or gone: a receipt's `mine` is looked up again. Others' messages do
   * not change it (`mine` names only `me`'s).
   */
  private shownChanges = 0;
  private mineOf: string | undefined;

  constructor(private readonly db: StoreDb) {}

  /**
   * Appends `m` (its `late` is computed here, whatever was passed) in the current turn's
   * transaction: durable once `db.committed()` resolves. Returns `{ late }` as stored, or false
   * for a duplicate, by (conversation, from, session, seq) or by (conversation, id): nothing is
   * written then. Throws ProtocolError('request.invalid') for a message of the wrong shape.
   */
  add(m: StoredMessage): { late: boolean } | false {
    const key = storedSchema.parse({ conversation: m.conversation, id: m.id, from: m.from, session: m.session, seq: m.seq, sentAt: m.sentAt }, 'message');
    const content = contentSchema.parse(contentOf(m), 'message');
    const { kind, target } = actionColumns(m.action);
    return this.db.write(() => {
      if (this.has(key.conversation, key.from, key.session, key.seq)) return false;
      if (this.db.get('SELECT 1 AS x FROM messages WHERE conversation = ? AND id = ?', [key.conversation, key.id])) return false;
      // Late among shown messages only: an action row is never placed in the timeline.
      const late = kind === '' && this.db.get(
        `SELECT 1 AS x FROM messages WHERE conversation = ? AND kind = '' AND (sent_at, sender, session, seq) > (?, ?, ?, ?) LIMIT 1`,
        [key.conversation, key.sentAt, key.from, key.session, key.seq],
      ) !== undefined;
      const body = this.db.seal('messages', identity(key, late, kind, target), JSON.stringify(content));
      if (kind === '' && (this.mineOf === undefined || key.from === this.mineOf)) this.shownChanges++;
      this.db.run(`INSERT INTO messages (${COLUMNS}, snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [key.conversation, key.id, key.from, key.session, key.seq, key.sentAt, late ? 1 : 0, kind, target, body, kind === '' && content.snippet ? 1 : 0]);
      return { late };
    });
  }

  /**
   * Seals `m`'s row again without its text and snippet (a delete): `replyTo` and the action stay.
   * In the turn's transaction; no-op when the row is gone.
   */
  scrub(m: StoredMessage): void {
    const { kind, target } = actionColumns(m.action);
    const late = Boolean(m.late);
    const content = { text: '', ...(m.replyTo ? { replyTo: m.replyTo } : {}), ...(m.action ? { action: m.action } : {}) };
    this.db.write(() => {
      const body = this.db.seal('messages', identity(m, late, kind, target), JSON.stringify(content));
      this.db.run('UPDATE messages SET body = ?, snippet = 0 WHERE conversation = ? AND id = ?', [body, m.conversation, m.id]);
    });
  }

  /**
   * The action rows of `kinds` naming message `target` of `conversation` (`from`: only that
   * sender's), oldest first in the store order, at most `limit` (the newest ones when more).
   */
  actionsOn(conversation: ConversationId, target: string, kinds: readonly MessageActionType[], opts: { from?: string; limit: number }): StoredMessage[] {
    const marks = kinds.map(() => '?').join(', ');
    const by = opts.from === undefined ? '' : ' AND sender = ?';
    const rows = this.db.all(
      `SELECT ${COLUMNS} FROM messages WHERE conversation = ? AND target = ? AND kind IN (${marks})${by} ${NEWEST_FIRST} LIMIT ?`,
      [conversation, target, ...kinds, ...(opts.from === undefined ? [] : [opts.from]), opts.limit],
    );
    return rows.reverse().map((r) => this.fromRow(r));
  }

  /**
   * Like `actionsOn`, but bounded per sender: each sender's newest `perSender` rows, and at most
   * `limit` in all, taken each sender's newest first (round by round: every sender's newest, then
   * every sender's second newest...), so one sender's many rows never push another's out.
   * Oldest first in the store order, or with `order: 'arrival'` in the order they were stored here
   * (rowid order: a new row's rowid is above every row's present).
   */
  actionsOnPerSender(conversation: ConversationId, target: string, kinds: readonly MessageActionType[], opts: { perSender: number; limit: number; order?: 'store' | 'arrival' }): StoredMessage[] {
    // Chosen from the index alone (messages_actions: counts, then each sender's newest by a range
    // read, no sort); only the rows chosen are read whole, in one query.
    const rowids: number[] = [];
    for (const [sender, n] of takenBySender(this.senderCounts(conversation, target, kinds, opts.perSender), opts.limit)) {
      if (n > 0) for (const r of this.newestOf(conversation, target, kinds, sender, n, 'rowid AS rid')) rowids.push(Number(r.rid));
    }
    if (rowids.length === 0) return [];
    const order = opts.order === 'arrival' ? 'rowid' : 'sent_at, sender, session, seq';
    const rows = this.db.all(`SELECT ${COLUMNS} FROM messages WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY ${order}`, [JSON.stringify(rowids)]);
    return rows.map((r) => this.fromRow(r));
  }

  /**
   * The rows of `sender` that `actionsOnPerSender` returns with the same arguments (oldest first),
   * opening only theirs: how many of theirs fit in `limit` is worked out from each sender's row
   * count, read from the index (messages_actions) without opening any row.
   */
  actionsOnPerSenderOf(conversation: ConversationId, target: string, kinds: readonly MessageActionType[], sender: string, opts: { perSender: number; limit: number }): StoredMessage[] {
    const n = takenBySender(this.senderCounts(conversation, target, kinds, opts.perSender), opts.limit).get(sender) ?? 0;
    return n > 0 ? this.newestOf(conversation, target, kinds, sender, n, COLUMNS).reverse().map((r) => this.fromRow(r)) : [];
  }

  /**
   * Each sender's count of action rows of `kinds` on `target`, at most `max`, from the index alone
   * (messages_actions). Bounded whatever a sender holds: a seek per sender to find the next one,
   * then at most `max` of their index entries counted. (A GROUP BY counted every row: a member
   * toggling one emoji for ever made each reaction on that message cost linear in their rows.)
   */
  private senderCounts(conversation: ConversationId, target: string, kinds: readonly MessageActionType[], max: number): Map<string, number> {
    const counts = new Map<string, number>();
    const add = (sender: string, n: number) => counts.set(sender, Math.min(max, (counts.get(sender) ?? 0) + n));
    for (const kind of new Set(kinds)) {
      // Most messages have a few: all of them read in one go is cheaper than a seek per sender.
      const few = this.db.all('SELECT sender FROM messages WHERE conversation = ? AND target = ? AND kind = ? LIMIT ?', [conversation, target, kind, FEW_ACTIONS]);
      if (few.length < FEW_ACTIONS) for (const r of few) add(String(r.sender), 1);
      else for (const r of this.db.all(SENDER_COUNTS, [conversation, target, kind, max])) add(String(r.sender), Number(r.n));
    }
    return counts;
  }

  /** `sender`'s newest `n` action rows of `kinds` on `target` (`columns` of them), newest first. */
  private newestOf(conversation: ConversationId, target: string, kinds: readonly MessageActionType[], sender: string, n: number, columns: string): SqlRow[] {
    return this.db.all(
      `SELECT ${columns} FROM messages WHERE conversation = ? AND target = ? AND kind IN (${kinds.map(() => '?').join(', ')}) AND sender = ? ${NEWEST_FIRST} LIMIT ?`,
      [conversation, target, ...kinds, sender, n],
    );
  }

  /**
   * The messages `sender`'s actions of `kinds` name in `conversation`, newest change first (by its
   * signed time: a message's newest edit, or its first delete), at most `limit`, only those whose
   * change is dated after `after` (ms): ids only, read from the clear columns (no row is opened).
   */
  targetsActedOnBy(conversation: ConversationId, sender: string, kinds: readonly MessageActionType[], limit: number, after = -1): string[] {
    const marks = kinds.map(() => '?').join(', ');
    const rows = this.db.all(
      // A target's change is its newest edit, or its first delete: a later delete of it is a copy
      // (peer/rejoin-resend.ts sends one to a rejoining member, dated when sent), and counted it
      // made every re-send "changed" for every other member (a leave/join loop by two members
      // re-sent everything each time). A re-sent edit is dated just after the edit it copies.
      `SELECT target, max(coalesce(max(CASE WHEN kind = 'delete' THEN NULL ELSE sent_at END), -1), coalesce(min(CASE WHEN kind = 'delete' THEN sent_at END), -1)) AS t
       FROM messages WHERE conversation = ? AND sender = ? AND kind IN (${marks}) AND target IS NOT NULL GROUP BY target HAVING t > ? ORDER BY t DESC, target LIMIT ?`,
      [conversation, sender, ...kinds, after, limit],
    );
    return rows.map((r) => String(r.target));
  }

  /** The signed time of `sender`'s newest action of `kind` on `target`, or undefined when there is none. */
  latestActionTime(conversation: ConversationId, target: string, kind: MessageActionType, sender: string): number | undefined {
    const row = this.db.get('SELECT max(sent_at) AS at FROM messages WHERE conversation = ? AND target = ? AND kind = ? AND sender = ?', [conversation, target, kind, sender]);
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  /**
   * Which of `ids` (at most MAX_PAGE) have an action of `kinds` in `conversation`: one index seek
   * per (id, kind), however many actions a message has (DISTINCT read every one of them).
   */
  targetsWithActions(conversation: ConversationId, ids: readonly string[], kinds: readonly MessageActionType[]): Set<string> {
    if (ids.length === 0) return new Set();
    const rows = this.db.all(
      `SELECT value AS target FROM json_each(?) WHERE EXISTS (SELECT 1 FROM messages WHERE conversation = ? AND target = value AND kind IN (${kinds.map(() => '?').join(', ')}))`,
      [JSON.stringify(ids), conversation, ...kinds],
    );
    return new Set(rows.map((r) => String(r.target)));
  }

  /** Whether `conversation` holds an action of `kinds` on `target` by someone other than `author`. */
  hasActionByOther(conversation: ConversationId, target: string, kinds: readonly MessageActionType[], author: string): boolean {
    const marks = kinds.map(() => '?').join(', ');
    return this.db.get(`SELECT 1 AS x FROM messages WHERE conversation = ? AND target = ? AND kind IN (${marks}) AND sender <> ? LIMIT 1`, [conversation, target, ...kinds, author]) !== undefined;
  }

  /**
   * Each sender's read position in `conversation` (`upTo`): the furthest message, in the timeline's
   * order, that one of their receipts names; of `users` only when given, else at most `limit`
   * senders (by name). Not their newest receipt: a receipt's own time is its device's clock (one
   * dated ahead would hide the later ones for up to a day). Nor could a message's own signed time
   * be its place: one dated ahead would sort after everything that came after it, and a receipt
   * naming it would count for all of those ("seen by" forged on them, the "New messages" line
   * hidden); shown messages are placed no later than they arrived here (peer/timeline-time.ts), so
   * a read position covers only what had arrived here before the message it names. A receipt
   * naming a message not here (yet) does not count until that message arrives (a sender's newest
   * MAX_PENDING_READS such are kept: pruneReads). Of receipts naming one message, the last to
   * arrive here counts (a later one says what the reader had since).
   * With `me`: `mine` says how far the receipt counts for `me`'s messages, from its `had`
   * (protocol/message-actions.ts): the id of `me`'s shown message it names (the earliest in this
   * store's order if a modified client names several), or null when it names none here (the
   * reader had none of mine up to `upTo`, or it is not here yet); absent for a receipt without
   * `had` (an older client's: up to `upTo`). Opens each receipt row once (kept parsed: receipts
   * never change), and looks up in one query the ids named by receipts whose `mine` may have
   * changed (new ones; all after a message of `me`'s came or went): with nothing new, 20-250
   * members cost 1.5-3 ms CPU (25-150 ms when every row was opened and looked up each time).
   */
  reads(conversation: ConversationId, opts: { users?: readonly string[]; limit: number; me?: string }): ReadPosition[] {
    const only = opts.users ? ` AND r.sender IN (${opts.users.map(() => '?').join(', ')})` : '';
    const rows = this.db.all(
      `SELECT rid, receipt_id, sender, target FROM (
         SELECT r.rowid AS rid, r.id AS receipt_id, r.sender AS sender, r.target AS target,
           ROW_NUMBER() OVER (PARTITION BY r.sender ORDER BY t.sent_at DESC, t.sender DESC, t.session DESC, t.seq DESC, r.rowid DESC) AS rn
         FROM messages r JOIN messages t ON t.conversation = r.conversation AND t.id = r.target AND t.kind = ''
         WHERE r.conversation = ? AND r.kind = 'read'${only}
       ) WHERE rn = 1 ORDER BY sender LIMIT ?`,
      [conversation, ...(opts.users ?? []), opts.limit],
    );
    const positions = rows.map((r): ReadPosition => ({ user: String(r.sender), upTo: String(r.target) }));
    if (opts.me === undefined) return positions;
    const me = opts.me;
    if (me !== this.mineOf) {
      this.mineOf = me;
      this.shownChanges++;
    }
    const kept = rows.map((r) => this.receipt(Number(r.rid), String(r.receipt_id)));
    // Only receipts whose `mine` is not known as of now are looked up (one query for them all).
    const stale = kept.filter((k) => k.had !== null && (k.mine?.me !== me || k.mine.at !== this.shownChanges));
    const order = this.shownOf(conversation, me, stale.flatMap((k) => k.had ?? []));
    return positions.map((p, i) => {
      const k = kept[i]!;
      if (k.had === null) return p;
      if (k.mine?.me === me && k.mine.at === this.shownChanges) return { ...p, mine: k.mine.id };
      // The earliest of mine it names (an honest receipt names one).
      let mine: string | null = null;
      for (const id of k.had) if (order.has(id) && (mine === null || order.get(id)! < order.get(mine)!)) mine = id;
      k.mine = { me, at: this.shownChanges, id: mine };
      return { ...p, mine };
    });
  }

  /** Receipt row `rowid` (message `id`) as kept: its `had` (null: it has none, or the row is not a receipt). Opened once. */
  private receipt(rowid: number, id: string): { had: readonly string[] | null; mine?: { me: string; at: number; id: string | null } } {
    const key = `${rowid}\n${id}`;
    const hit = this.receipts.get(key);
    if (hit) {
      this.receipts.delete(key);
      this.receipts.set(key, hit);
      return hit;
    }
    const row = this.db.get(`SELECT ${COLUMNS} FROM messages WHERE rowid = ?`, [rowid]);
    const action = row ? this.fromRow(row).action : undefined;
    const entry = { had: action?.t === 'read' && action.had !== undefined ? action.had : null };
    if (this.receipts.size >= RECEIPTS_KEPT) this.receipts.delete(this.receipts.keys().next().value!);
    this.receipts.set(key, entry);
    return entry;
  }

  /** Which of `ids` are shown messages of `from` here: id -> its rank in the store's order. One query. */
  private shownOf(conversation: ConversationId, from: string, ids: readonly string[]): Map<string, number> {
    if (ids.length === 0) return new Map();
    // Each id looked up by (conversation, id) (CROSS JOIN keeps that order: no scan of the conversation).
    const rows = this.db.all(
      `SELECT DISTINCT m.id AS id, m.sent_at, m.sender, m.session, m.seq FROM json_each(?) j CROSS JOIN messages m ON m.conversation = ? AND m.id = j.value
       WHERE m.kind = '' AND m.sender = ? ORDER BY m.sent_at, m.sender, m.session, m.seq`,
      [JSON.stringify(ids), conversation, from],
    );
    return new Map(rows.map((r, i) => [String(r.id), i]));
  }

  /**
   * What a read receipt of mine up to message `upTo` of `conversation` says I had (its `had`,
   * protocol/message-actions.ts): for each sender other than `me`, the newest of their shown
   * messages at or before `upTo` in this store's order, newest first, at most MAX_READ_HAD, among
   * the HAD_WINDOW shown rows up to `upTo`; a sender silent for longer keeps what my furthest
   * receipt here said I had of theirs (at or before `upTo`: so "seen by" does not leave a message I
   * had read once others posted HAD_WINDOW more), else is left out (their messages count as not
   * seen by me). With `hole` (HeldEnvelopes.holeBelow: a seq of that sender's session
   * below it not here while the one before it is, a message overtaken on the way): their newest
   * below that hole in that session instead, or none of theirs. Empty when `upTo` is not a shown
   * message here. Bounded: a read of that many entries of the shown-rows index, then a row or two
   * per sender named, then my furthest receipt and one look-up of what it names.
   */
  heldUpTo(conversation: ConversationId, upTo: string, me: string, hole?: (sender: string, session: string, seq: number) => number | undefined): string[] {
    const at = this.db.get(`SELECT sent_at, sender, session, seq FROM messages WHERE conversation = ? AND id = ? AND kind = ''`, [conversation, upTo]);
    if (!at) return [];
    // The window reads the index alone (messages_shown holds every column it needs); each sender's
    // newest is a bare-column max() (the columns of a row with the greatest sent_at: any of a
    // sender's rows dated in the same millisecond is one the reader held); ids are then read for
    // those only (CROSS JOIN keeps that order: the planner otherwise scanned the conversation).
    const rows = this.db.all(
      `SELECT m.id AS id, m.sender AS sender, m.session AS session, m.seq AS seq FROM (
         SELECT sender, max(sent_at) AS sent_at, session, seq FROM (
           SELECT sender, session, seq, sent_at FROM messages
           WHERE conversation = ?1 AND kind = '' AND (sent_at, sender, session, seq) <= (?2, ?3, ?4, ?5) ${NEWEST_FIRST} LIMIT ?6)
         WHERE sender <> ?7 GROUP BY sender
       ) w CROSS JOIN messages m ON m.conversation = ?1 AND m.sender = w.sender AND m.session = w.session AND m.seq = w.seq
       ORDER BY w.sent_at DESC, w.sender DESC LIMIT ?8`,
      [conversation, at.sent_at!, at.sender!, at.session!, at.seq!, HAD_WINDOW, me, MAX_READ_HAD],
    );
    const had: string[] = [];
    for (const r of rows) {
      const missing = hole?.(String(r.sender), String(r.session), Number(r.seq));
      if (missing === undefined) {
        had.push(String(r.id));
        continue;
      }
      const before = this.db.get(
        `SELECT id FROM messages WHERE conversation = ? AND sender = ? AND session = ? AND seq < ? AND kind = '' AND (sent_at, sender, session, seq) <= (?, ?, ?, ?) ORDER BY seq DESC LIMIT 1`,
        [conversation, r.sender!, r.session!, missing, at.sent_at!, at.sender!, at.session!, at.seq!],
      );
      if (before) had.push(String(before.id));
    }
    if (rows.length >= MAX_READ_HAD) return had;
    // Senders silent for longer than the window: what I had of theirs when I read before still holds.
    const found = new Set(rows.map((r) => String(r.sender)));
    const mine = this.db.get(
      `SELECT r.rowid AS rid, r.id AS id FROM messages r JOIN messages t ON t.conversation = r.conversation AND t.id = r.target AND t.kind = ''
       WHERE r.conversation = ? AND r.kind = 'read' AND r.sender = ?
       ORDER BY t.sent_at DESC, t.sender DESC, t.session DESC, t.seq DESC, r.rowid DESC LIMIT 1`,
      [conversation, me],
    );
    const before = mine ? this.receipt(Number(mine.rid), String(mine.id)).had : null;
    if (!before?.length) return had;
    const carried = this.db.all(
      `SELECT m.id AS id, m.sender AS sender FROM json_each(?1) j CROSS JOIN messages m ON m.conversation = ?2 AND m.id = j.value
       WHERE m.kind = '' AND m.sender <> ?3 AND (m.sent_at, m.sender, m.session, m.seq) <= (?4, ?5, ?6, ?7) 
       ORDER BY m.sent_at DESC, m.sender DESC, m.session DESC, m.seq DESC`,
      [JSON.stringify(before), conversation, me, at.sent_at!, at.sender!, at.session!, at.seq!],
    );
    for (const r of carried) {
      if (had.length >= MAX_READ_HAD) break;
      if (found.has(String(r.sender))) continue;
      found.add(String(r.sender));
      had.push(String(r.id));
    }
    return had;
  }

  /**
   * Drops `sender`'s read receipts in `conversation` that cannot matter: of those naming a message
   * here, all but the furthest (`reads`' position; of several naming it, the last to arrive); of
   * those naming none (not here yet, made up, or an action row), all but the newest
   * MAX_PENDING_READS by arrival here. So `sender` keeps at most
   * MAX_PENDING_READS + 1 receipts, and what this and `reads` go through is a few rows per member,
   * however many receipts a member sends (one sending them for ever, or naming made-up ids, made
   * every receipt and every `reads` slower: ~50 ms each at 50,000, test/bench/receipts-micro.ts).
   * Run on each receipt stored (MessageActions.applied). In the turn's transaction.
   */
  pruneReads(conversation: ConversationId, sender: string): void {
    this.db.write(() => {
      this.db.run(
        `DELETE FROM messages WHERE rowid IN (
           SELECT r.rowid FROM messages r JOIN messages t ON t.conversation = r.conversation AND t.id = r.target AND t.kind = ''
           WHERE r.conversation = ? AND r.kind = 'read' AND r.sender = ?
           ORDER BY t.sent_at DESC, t.sender DESC, t.session DESC, t.seq DESC, r.rowid DESC LIMIT -1 OFFSET 1)`,
        [conversation, sender],
      );
      // Arrival order is rowid order: a new row's rowid is above every row's present, so neither
      // the sender's signed times nor a receiver's clock decide which go.
      this.db.run(
        `DELETE FROM messages WHERE rowid IN (
           SELECT r.rowid FROM messages r
           WHERE r.conversation = ? AND r.kind = 'read' AND r.sender = ?
             AND NOT EXISTS (SELECT 1 FROM messages t WHERE t.conversation = r.conversation AND t.id = r.target AND t.kind = '')
           ORDER BY r.rowid DESC LIMIT -1 OFFSET ?)`,
        [conversation, sender, MAX_PENDING_READS],
      );
    });
  }

  /** Whether `conversation` shows any message (a direct conversation that shows none is not listed). */
  showsAny(conversation: ConversationId): boolean {
    return this.db.get(`SELECT 1 AS x FROM messages WHERE conversation = ? AND kind = '' LIMIT 1`, [conversation]) !== undefined;
  }

  /**
   * Drops `sender`'s rows of `kind` in `conversation` that name no message here (not here yet, made
   * up, or an action row) beyond their newest MAX_PENDING_ACTIONS[kind] by arrival, among their
   * newest PENDING_WINDOW rows of that kind (messages_pending: no scan, no sort). Run on each such
   * row stored (MessageActions.applied). In the turn's transaction. Returns the rows dropped, as
   * their coordinates only (`text` empty, no action; nothing is opened): an edit's held envelope
   * still carries its text, for the caller to tombstone. `keep`: how many to keep, when fewer.
   */
  prunePending(conversation: ConversationId, sender: string, kind: keyof typeof MAX_PENDING_ACTIONS, keep: number = MAX_PENDING_ACTIONS[kind]): StoredMessage[] {
    return this.db.write(() => {
      // Arrival order is rowid order (as pruneReads): neither the sender's signed times nor a
      // receiver's clock decide which go.
      const rows = this.db.all(
        `SELECT rid, id, session, seq, sent_at FROM (
           SELECT rowid AS rid, id, session, seq, sent_at, target FROM messages
           WHERE conversation = ?1 AND sender = ?2 AND kind = ?3 AND target IS NOT NULL ORDER BY rowid DESC LIMIT ?4
         ) w WHERE NOT EXISTS (SELECT 1 FROM messages t WHERE t.conversation = ?1 AND t.id = w.target AND t.kind = '')
         ORDER BY rid DESC LIMIT -1 OFFSET ?5`,
        [conversation, sender, kind, PENDING_WINDOW, Math.min(keep, MAX_PENDING_ACTIONS[kind])],
      );
      if (rows.length === 0) return [];
      this.db.run('DELETE FROM messages WHERE rowid IN (SELECT value FROM json_each(?))', [JSON.stringify(rows.map((r) => Number(r.rid)))]);
      return rows.map((r) => ({ conversation, id: String(r.id), from: sender, session: String(r.session), seq: Number(r.seq), sentAt: Number(r.sent_at), text: '' }));
    });
  }

  /**
   * Drops `sender`'s reaction rows on message `target` beyond their newest `keep` in the store
   * order: rows no reader reads (MessageActions reads a sender's newest MAX_REACTION_ROWS_PER_USER
   * on a message, by the same order), so what is shown does not change; a member toggling one
   * emoji for ever no longer grows every member's store. At most PRUNED_REACTIONS rows a call, so
   * a call reads a bounded part of the store: run on each reaction stored, one goes a time; rows
   * stored before this rule go a few with each of that sender's next reactions there. In the turn's
   * transaction.
   */
  pruneReactions(conversation: ConversationId, target: string, sender: string, keep: number): void {
    this.db.write(() => {
      this.db.run(
        `DELETE FROM messages WHERE rowid IN (
           SELECT rowid FROM messages WHERE conversation = ? AND target = ? AND kind = 'react' AND sender = ? ${NEWEST_FIRST} LIMIT ? OFFSET ?)`,
        [conversation, target, sender, PRUNED_REACTIONS, keep],
      );
    });
  }

  /** How many action rows of `kind` by `sender` name `target` in `conversation`, counted up to `max` (from the index; nothing opened). */
  countActions(conversation: ConversationId, target: string, kind: MessageActionType, sender: string, max: number): number {
    return Number(this.db.get(
      'SELECT count(*) AS n FROM (SELECT 1 FROM messages WHERE conversation = ? AND target = ? AND kind = ? AND sender = ? LIMIT ?)',
      [conversation, target, kind, sender, max],
    )!.n);
  }

  /** Deletes row `id` of `conversation` (an action ignored on receipt), in the turn's transaction. */
  remove(conversation: ConversationId, id: string): void {
    this.shownChanges++;
    this.db.write(() => this.db.run('DELETE FROM messages WHERE conversation = ? AND id = ?', [conversation, id]));
  }

  /** Senders (at most `limit`, by name) of read receipts in `conversation` naming message `target`. */
  readersOf(conversation: ConversationId, target: string, limit: number): string[] {
    const rows = this.db.all(`SELECT DISTINCT sender FROM messages WHERE conversation = ? AND target = ? AND kind = 'read' ORDER BY sender LIMIT ?`, [conversation, target, limit]);
    return rows.map((r) => String(r.sender));
  }

  /**
   * Every shown message of the store its author has not deleted, with their latest edit of it
   * (undefined when none), in batches by rowid, in no particular order (the search index's loader).
   * Each batch's edits are found and read with it: what is held at once is a batch's rows and their
   * edits, however many edit rows the store holds. (Holding every edit row's text first, anyone's,
   * naming any id, held them all outside the index's budget: 100 MiB for a member's 20,000 edits of
   * 4 KiB naming made-up ids, test/bench/indexable-micro.ts.) Deleted messages are not opened.
   * With `conversation`: that conversation's only (a room rejoined, SearchIndex.restore).
   */
  *shownAsEdited(conversation?: ConversationId): Generator<{ message: StoredMessage; edit?: StoredMessage }> {
    const only = conversation === undefined ? '' : 'AND m.conversation = ?';
    const onlyArgs = conversation === undefined ? [] : [conversation];
    let after = 0;
    for (;;) {
      // Two seeks a message in messages_actions (the author's delete, the author's newest edit):
      // lost in the cost of opening the rows (about as fast as the plain scan at 100,000).
      const rows = this.db.all(
        `SELECT m.rowid AS rid, ${COLUMNS},
           EXISTS (SELECT 1 FROM messages d WHERE d.conversation = m.conversation AND d.target = m.id AND d.kind = 'delete' AND d.sender = m.sender) AS gone,
           (SELECT e.rowid FROM messages e WHERE e.conversation = m.conversation AND e.target = m.id AND e.kind = 'edit' AND e.sender = m.sender
              ORDER BY e.sent_at DESC, e.session DESC, e.seq DESC LIMIT 1) AS edit
         FROM messages m WHERE m.kind = '' ${only} AND m.rowid > ? ORDER BY m.rowid LIMIT ?`,
        [...onlyArgs, after, SHOWN_BATCH],
      );
      const shown = rows.filter((r) => !Number(r.gone));
      const editIds = shown.filter((r) => r.edit !== null && r.edit !== undefined).map((r) => Number(r.edit));
      const edits = new Map<number, StoredMessage>();
      if (editIds.length) {
        for (const e of this.db.all(`SELECT rowid AS rid, ${COLUMNS} FROM messages WHERE rowid IN (SELECT value FROM json_each(?))`, [JSON.stringify(editIds)])) edits.set(Number(e.rid), this.fromRow(e));
      }
      for (const r of shown) {
        const edit = r.edit === null || r.edit === undefined ? undefined : edits.get(Number(r.edit));
        yield { message: this.fromRow(r), ...(edit ? { edit } : {}) };
      }
      if (rows.length < SHOWN_BATCH) return;
      after = Number(rows.at(-1)!.rid);
    }
  }

  /**
   * A page of `conversation`, oldest first, of at most `limit` messages (1..MAX_PAGE): the newest;
   * those just before message `before`; those just after message `after`; or those around message
   * `around` (it, half the page before it and half after, the other side filling in near an end:
   * a jump to it). At most one
   * cursor is given. `more`: older messages remain before the first; `newer`: newer ones remain
   * after the last. Throws ProtocolError('request.invalid') for a `limit` outside 1..MAX_PAGE,
   * more than one cursor or an unknown cursor message, 'crypto.decrypt_failed' for a row whose
   * sealed body does not open.
   */
  page(conversation: ConversationId, opts: PageCursor & { limit: number }): { messages: StoredMessage[]; more: boolean; newer: boolean } {
    const limit = int({ min: 1, max: MAX_PAGE }).parse(opts.limit, 'limit');
    const cursors = [opts.before, opts.after, opts.around].filter((c) => c !== undefined);
    if (cursors.length > 1) throw new ProtocolError('request.invalid', 'give at most one of before, after and around');
    if (cursors.length === 0) {
      const rows = this.db.all(`SELECT ${COLUMNS} FROM messages WHERE conversation = ? AND kind = '' ${NEWEST_FIRST} LIMIT ?`, [conversation, limit + 1]);
      return { messages: rows.slice(0, limit).reverse().map((r) => this.fromRow(r)), more: rows.length > limit, newer: false };
    }
    const id = cursors[0]!;
    const at = this.db.get(`SELECT ${COLUMNS} FROM messages WHERE conversation = ? AND id = ? AND kind = ''`, [conversation, id]);
    if (!at) throw new ProtocolError('request.invalid', `no such message in this conversation to page ${opts.before !== undefined ? 'before' : opts.after !== undefined ? 'after' : 'around'}`);
    if (opts.before !== undefined) {
      const older = this.beside(conversation, at, 'older', limit + 1);
      return { messages: older.slice(0, limit).reverse().map((r) => this.fromRow(r)), more: older.length > limit, newer: true };
    }
    if (opts.after !== undefined) {
      const newer = this.beside(conversation, at, 'newer', limit + 1);
      return { messages: newer.slice(0, limit).map((r) => this.fromRow(r)), more: true, newer: newer.length > limit };
    }
    // Half before, half after; near either end, the other side fills the page.
    const older = this.beside(conversation, at, 'older', limit);
    const newer = this.beside(conversation, at, 'newer', limit);
    const after = Math.min(newer.length, limit - 1 - Math.min(older.length, Math.floor((limit - 1) / 2)));
    const before = Math.min(older.length, limit - 1 - after);
    const rows = [...older.slice(0, before).reverse(), at, ...newer.slice(0, after)];
    return { messages: rows.map((r) => this.fromRow(r)), more: older.length > before, newer: newer.length > after };
  }

  /**
   * The newest `limit` (1..MAX_PAGE) shown messages of `conversation` that carry a code snippet,
   * oldest first, however far back they are (the code threads' feed after a reload). Read from the
   * messages_snippets index (store-schema.ts step 6): rows flagged as carrying one, and rows stored
   * before the flag existed, which are opened once here and flagged (in the turn's transaction).
   * Deleted (scrubbed) messages carry none. Throws ProtocolError('request.invalid') for a bad
   * `limit`, 'crypto.decrypt_failed' for a row whose sealed body does not open.
   */
  withSnippets(conversation: ConversationId, limit: number): StoredMessage[] {
    const n = int({ min: 1, max: MAX_PAGE }).parse(limit, 'limit');
    const found: StoredMessage[] = [];
    let last: SqlRow | undefined;
    while (found.length < n) {
      const after = last ? ' AND (sent_at, sender, session, seq) < (?, ?, ?, ?)' : '';
      const rows = this.db.all(
        `SELECT ${COLUMNS}, snippet FROM messages WHERE conversation = ? AND kind = '' AND snippet IS NOT 0${after} ${NEWEST_FIRST} LIMIT ?`,
        [conversation, ...(last ? [last.sent_at!, last.sender!, last.session!, last.seq!] : []), SNIPPET_BATCH],
      );
      const learnt: [number, string][] = [];
      for (const r of rows) {
        const m = this.fromRow(r);
        if (r.snippet === null || r.snippet === undefined) learnt.push([m.snippet ? 1 : 0, m.id]);
        if (m.snippet && found.length < n) found.push(m);
      }
      if (learnt.length) this.db.write(() => { for (const [has, id] of learnt) this.db.run('UPDATE messages SET snippet = ? WHERE conversation = ? AND id = ?', [has, conversation, id]); });
      if (rows.length < SNIPPET_BATCH) break;
      last = rows.at(-1);
    }
    return found.reverse();
  }

  /** Up to `n` shown rows of `conversation` next to row `at` in timeline order, nearest first. */
  private beside(conversation: ConversationId, at: SqlRow, side: 'older' | 'newer', n: number): SqlRow[] {
    if (n <= 0) return [];
    const [cmp, order] = side === 'older' ? ['<', NEWEST_FIRST] : ['>', OLDEST_FIRST];
    return this.db.all(
      `SELECT ${COLUMNS} FROM messages WHERE conversation = ? AND kind = '' AND (sent_at, sender, session, seq) ${cmp} (?, ?, ?, ?) ${order} LIMIT ?`,
      [conversation, at.sent_at!, at.sender!, at.session!, at.seq!, n],
    );
  }

  /**
   * The earliest timeline time (ms) of `from`'s shown messages of `session` just after `seq` in
   * `conversation` (among that session's next NEXT_OF_SENDER_ROWS rows stored, actions included),
   * or undefined when there is none (peer/timeline-time.ts: a message arriving after its
   * successors is placed no later than they are). Bounded: an index seek and at most that many rows.
   */
  nextOfSender(conversation: ConversationId, from: string, session: string, seq: number): number | undefined {
    // Seq order from the (conversation, sender, session, seq) index; min() directly on the table
    // let SQLite walk the timeline index instead (every shown row of the conversation).
    const row = this.db.get(
      `SELECT min(sent_at) AS at FROM (
         SELECT sent_at, kind FROM messages WHERE conversation = ? AND sender = ? AND session = ? AND seq > ? ORDER BY seq LIMIT ?
       ) WHERE kind = ''`,
      [conversation, from, session, seq, NEXT_OF_SENDER_ROWS],
    );
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  /** Whether (from, session, seq) is stored in `conversation`. */
  has(conversation: ConversationId, from: string, session: string, seq: number): boolean {
    return this.db.get('SELECT 1 AS x FROM messages WHERE conversation = ? AND sender = ? AND session = ? AND seq = ?', [conversation, from, session, seq]) !== undefined;
  }

  /** The message `id` of `conversation` (an action row too: see `action`), or undefined. */
  get(conversation: ConversationId, id: string): StoredMessage | undefined {
    const row = this.db.get(`SELECT ${COLUMNS} FROM messages WHERE conversation = ? AND id = ?`, [conversation, id]);
    return row ? this.fromRow(row) : undefined;
  }

  /** How many messages `conversation` holds. */
  count(conversation: ConversationId): number {
    return Number(this.db.get('SELECT count(*) AS n FROM messages WHERE conversation = ?', [conversation])!.n);
  }

  /** Deletes every message of `conversation` (in the turn's transaction); returns how many. */
  forget(conversation: ConversationId): number {
    this.opened.clear();
    this.shownChanges++;
    return this.db.write(() => this.db.run('DELETE FROM messages WHERE conversation = ?', [conversation]));
  }

  private fromRow(r: SqlRow): StoredMessage {
    const key = { conversation: String(r.conversation), id: String(r.id), from: String(r.sender), session: String(r.session), seq: Number(r.seq), sentAt: Number(r.sent_at) };
    const late = r.late === 1 || r.late === 1n;
    const kind = String(r.kind ?? '');
    const target = r.target === null || r.target === undefined ? null : String(r.target);
    const named = identity(key, late, kind, target);
    const cached = kind === 'react' && r.body instanceof Uint8Array ? JSON.stringify(named) : undefined;
    const hit = cached === undefined ? undefined : this.opened.get(cached, r.body as Uint8Array);
    // A copy: callers may change what they are given.
    if (hit) return { ...hit, ...(hit.action ? { action: { ...hit.action } } : {}) };
    const content = contentSchema.parse(JSON.parse(this.db.open('messages', named, r.body ?? null).toString('utf8')), 'stored message');
    // The sealed action must be the one the clear columns say (they are bound, this is belt and braces).
    if (kind !== actionColumns(content.action).kind || target !== actionColumns(content.action).target) {
      throw new ProtocolError('crypto.decrypt_failed', `${this.db.path}: a message row's action does not match its columns`);
    }
    const m: StoredMessage = {
      ...key, text: content.text,
      ...(content.snippet ? { snippet: content.snippet } : {}),
      ...(content.replyTo ? { replyTo: content.replyTo } : {}),
      ...(content.action ? { action: content.action } : {}),
      ...(late ? { late: true } : {}),
    };
    if (cached !== undefined) this.opened.set(cached, r.body as Uint8Array, { ...m, ...(m.action ? { action: { ...m.action } } : {}) });
    return m;
  }
}

/**
 * How many rows of each sender actionsOnPerSender takes, given each sender's row count (already at
 * most perSender): it takes rows round by round (each sender's newest, then each one's second
 * newest...), senders in name order within a round (names are ASCII, NAME_PATTERN: JS string
 * order is SQLite's BINARY order), until `limit` rows. Every sender of `counts` is in the answer.
 */
export function takenBySender(counts: ReadonlyMap<string, number>, limit: number): Map<string, number> {
  let left = [...counts.keys()].sort();
  const taken = new Map(left.map((s) => [s, 0]));
  let room = limit;
  for (let r = 1; room > 0 && left.length > 0; r++) {
    left = left.filter((s) => counts.get(s)! >= r);
    for (const s of left) {
      if (room === 0) break;
      taken.set(s, r);
      room--;
    }
  }
  return taken;
}

/** The sealed part of a message: its content, what it answers, what it does. */
function contentOf(m: StoredMessage): Record<string, unknown> {
  return { text: m.text, ...(m.snippet ? { snippet: m.snippet } : {}), ...(m.replyTo ? { replyTo: m.replyTo } : {}), ...(m.action ? { action: m.action } : {}) };
}

/** An action's clear columns: its type and the message it names ('' and null for a shown message). */
function actionColumns(action: MessageAction | undefined): { kind: string; target: string | null } {
  if (!action) return { kind: '', target: null };
  return { kind: action.t, target: action.t === 'read' ? action.upTo : action.of };
}

/**
 * What the sealed body is bound to: the row's every clear column. A shown message's identity is
 * the one rows had before action columns existed, so those rows still open; an action row's adds
 * its kind and target.
 */
function identity(k: { conversation: string; id: string; from: string; session: string; seq: number; sentAt: number }, late: boolean, kind: string, target: string | null): (string | number)[] {
  const base = [k.conversation, k.id, k.from, k.session, k.seq, k.sentAt, late ? 1 : 0];
  return kind === '' && target === null ? base : [...base, kind, target ?? ''];
}
