// Every conversation's messages, in the engine's one store (peer/store-db.ts): appended as they
// are shown, read in pages from the newest backwards. DESIGN.md "Delivery, history, nothing lost".
//
// One order on every member: (sentAt, from, session, seq), compared as numbers and as the bytes
// of the strings (names and session ids are ASCII), so every member shows a room's messages in
// the same order, stable across restarts. A message that arrives after one later in that order is
// placed where it belongs and marked `late`.

import type { ConversationId } from '../protocol/peer.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { NAME_PATTERN } from '../protocol/names.ts';
import { MAX_TEXT_BYTES } from '../protocol/text-limit.ts';
import { int, obj, optional, str, type Infer } from '../protocol/schema.ts';
import type { SqlRow, StoreDb } from './store-db.ts';

/** The most messages one page may ask for. */
export const MAX_PAGE = 500;

const snippetSchema = obj({
  language: str({ max: 64 }),
  path: str({ max: 1024 }),
  startLine: int({ min: 1 }),
  endLine: int({ min: 1 }),
  code: str({ max: MAX_TEXT_BYTES, maxBytes: MAX_TEXT_BYTES }),
});
/** What is sealed in a row's body: the content, never an index column. */
const contentSchema = obj({ text: str({ max: MAX_TEXT_BYTES, maxBytes: MAX_TEXT_BYTES }), snippet: optional(snippetSchema) });
const conversationSchema = str({ min: 1, max: 80 });
const storedSchema = obj({
  conversation: conversationSchema,
  id: str({ min: 1, max: 64 }),
  from: str({ pattern: NAME_PATTERN, max: 32 }),
  session: str({ min: 1, max: 64 }),
  seq: int({ min: 0 }),
  sentAt: int({ min: 0 }),
});

/** A code snippet shared with a message (language, file path, 1-based line range, the code). */
export type StoredSnippet = Infer<typeof snippetSchema>;

/** One message of a conversation as history keeps it. `sentAt` is the sender's clock, in ms. */
export interface StoredMessage {
  conversation: ConversationId;
  id: string;
  from: string;
  session: string;
  seq: number;
  sentAt: number;
  text: string;
  snippet?: StoredSnippet;
  /** Set by add: a message later in the order was already stored when this one arrived. */
  late?: boolean;
}

const COLUMNS = 'conversation, id, sender, session, seq, sent_at, late, body';
const NEWEST_FIRST = 'ORDER BY sent_at DESC, sender DESC, session DESC, seq DESC';

export class History {
  constructor(private readonly db: StoreDb) {}

  /**
   * Appends `m` (its `late` is computed here, whatever was passed) in the current turn's
   * transaction: durable once `db.committed()` resolves. Returns `{ late }` as stored, or false
   * for a duplicate, by (conversation, from, session, seq) or by (conversation, id): nothing is
   * written then. Throws ProtocolError('request.invalid') for a message of the wrong shape.
   */
  add(m: StoredMessage): { late: boolean } | false {
    const key = storedSchema.parse({ conversation: m.conversation, id: m.id, from: m.from, session: m.session, seq: m.seq, sentAt: m.sentAt }, 'message');
    const content = contentSchema.parse(m.snippet ? { text: m.text, snippet: m.snippet } : { text: m.text }, 'message');
    return this.db.write(() => {
      if (this.has(key.conversation, key.from, key.session, key.seq)) return false;
      if (this.db.get('SELECT 1 AS x FROM messages WHERE conversation = ? AND id = ?', [key.conversation, key.id])) return false;
      const late = this.db.get(
        'SELECT 1 AS x FROM messages WHERE conversation = ? AND (sent_at, sender, session, seq) > (?, ?, ?, ?) LIMIT 1',
        [key.conversation, key.sentAt, key.from, key.session, key.seq],
      ) !== undefined;
      const body = this.db.seal('messages', identity(key, late), JSON.stringify(content));
      this.db.run(`INSERT INTO messages (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [key.conversation, key.id, key.from, key.session, key.seq, key.sentAt, late ? 1 : 0, body]);
      return { late };
    });
  }

  /**
   * A page of `conversation`, oldest first: the newest `limit` messages, or the `limit` just
   * before the message `before` (an id). `more` says whether older messages remain. Throws
   * ProtocolError('request.invalid') for a `limit` outside 1..MAX_PAGE or an unknown `before`,
   * 'crypto.decrypt_failed' for a row whose sealed body does not open.
   */
  page(conversation: ConversationId, opts: { before?: string; limit: number }): { messages: StoredMessage[]; more: boolean } {
    const limit = int({ min: 1, max: MAX_PAGE }).parse(opts.limit, 'limit');
    let rows: SqlRow[];
    if (opts.before === undefined) {
      rows = this.db.all(`SELECT ${COLUMNS} FROM messages WHERE conversation = ? ${NEWEST_FIRST} LIMIT ?`, [conversation, limit + 1]);
    } else {
      const at = this.db.get('SELECT sent_at, sender, session, seq FROM messages WHERE conversation = ? AND id = ?', [conversation, opts.before]);
      if (!at) throw new ProtocolError('request.invalid', 'no such message in this conversation to page before');
      rows = this.db.all(
        `SELECT ${COLUMNS} FROM messages WHERE conversation = ? AND (sent_at, sender, session, seq) < (?, ?, ?, ?) ${NEWEST_FIRST} LIMIT ?`,
        [conversation, at.sent_at!, at.sender!, at.session!, at.seq!, limit + 1],
      );
    }
    const more = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse().map((r) => this.fromRow(r)), more };
  }

  /** Whether (from, session, seq) is stored in `conversation`. */
  has(conversation: ConversationId, from: string, session: string, seq: number): boolean {
    return this.db.get('SELECT 1 AS x FROM messages WHERE conversation = ? AND sender = ? AND session = ? AND seq = ?', [conversation, from, session, seq]) !== undefined;
  }

  /** The message `id` of `conversation`, or undefined. */
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
    return this.db.write(() => this.db.run('DELETE FROM messages WHERE conversation = ?', [conversation]));
  }

  private fromRow(r: SqlRow): StoredMessage {
    const key = { conversation: String(r.conversation), id: String(r.id), from: String(r.sender), session: String(r.session), seq: Number(r.seq), sentAt: Number(r.sent_at) };
    const late = r.late === 1 || r.late === 1n;
    const content = contentSchema.parse(JSON.parse(this.db.open('messages', identity(key, late), r.body ?? null).toString('utf8')), 'stored message');
    return { ...key, text: content.text, ...(content.snippet ? { snippet: content.snippet } : {}), ...(late ? { late: true } : {}) };
  }
}

/** What the sealed body is bound to: the row's every clear column. */
function identity(k: { conversation: string; id: string; from: string; session: string; seq: number; sentAt: number }, late: boolean): (string | number)[] {
  return [k.conversation, k.id, k.from, k.session, k.seq, k.sentAt, late ? 1 : 0];
}
