// A message store over a real store.db in a temp folder, as the engine builds it: History, the
// search index (loaded from the actions' current texts) and MessageActions over them. Closed and
// removed when the test ends. Used by the unit tests of message actions, reactions and reads.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { MessageActions } from '../../peer/message-actions.ts';
import { SearchIndex } from '../../peer/search-index.ts';
import { StoreDb } from '../../peer/store-db.ts';

/** The parts of a store made by storeFixture; `dir` is the temp folder holding store.db. */
export type StoreFixture = { dir: string; db: StoreDb; history: History; index: SearchIndex; actions: MessageActions };

/**
 * A fresh store.db (random key) in a temp folder named `prefix`…, with the History, SearchIndex and
 * MessageActions the engine puts over it; the db is closed and the folder removed after `t`.
 */
export async function storeFixture(t: TestContext, prefix = 'p2p-store-'): Promise<StoreFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  t.after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const history = new History(db);
  const index: SearchIndex = new SearchIndex(() => actions.indexable());
  const actions: MessageActions = new MessageActions(history, index, db);
  return { dir, db, history, index, actions };
}

/** The conversation the fixture's messages belong to, and its name as events give it. */
export const ROOM = 'R'.repeat(43);
export const named = { id: ROOM, name: 'general' };

let seq = 0;
/**
 * A row of `from` in ROOM (session `S-<from>`), each with the next seq: sent at 1000 + that seq and
 * with no text unless `over` says otherwise.
 */
export function storedMessage(id: string, from: string, over: Partial<StoredMessage> = {}): StoredMessage {
  seq++;
  return { conversation: ROOM, id, from, session: `S-${from}`, seq, sentAt: 1000 + seq, text: '', ...over };
}
