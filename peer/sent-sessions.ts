// Where each of my sending sessions began: the room log head it was made at, so who was given its
// key, and so who may hold its messages (peer/rejoin-resend.ts). In the store (step 7,
// `sent_sessions`), one row per session, kept as long as the store: the held bundle says the same
// but is pruned after HELD_MAX_AGE_MS, and a member may rejoin later than that.

import type { ConversationId } from '../protocol/peer.ts';
import type { RoomHead } from '../protocol/room-log.ts';
import type { StoreDb } from './store-db.ts';

export class SentSessions {
  constructor(private readonly db: Pick<StoreDb, 'write' | 'run' | 'get'>) {}

  /** My session `session` of `room` was made at `head`. In the turn's transaction; a second call for it changes nothing. */
  record(room: ConversationId, session: string, head: RoomHead): void {
    this.db.write(() => this.db.run('INSERT OR IGNORE INTO sent_sessions (room, session, head_seq, head_hash) VALUES (?, ?, ?, ?)', [room, session, head.seq, head.hash]));
  }

  /** The head my session `session` of `room` was made at, or undefined when not recorded (made before store step 7). */
  headOf(room: ConversationId, session: string): RoomHead | undefined {
    const row = this.db.get('SELECT head_seq, head_hash FROM sent_sessions WHERE room = ? AND session = ?', [room, session]);
    return row ? { seq: Number(row.head_seq), hash: String(row.head_hash) } : undefined;
  }
}
