// The store the message-action micro benchmarks (actions-micro.ts, receipts-micro.ts) measure on:
// a real store.db in a temp folder with the History, SearchIndex and MessageActions the engine puts
// over it, holding 2,000 plain messages of 20 members in one room; and their CPU timing helpers.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../../protocol/crypto.ts';
import { History, type StoredMessage } from '../../peer/history.ts';
import { MessageActions } from '../../peer/message-actions.ts';
import { SearchIndex } from '../../peer/search-index.ts';
import { StoreDb } from '../../peer/store-db.ts';

/** The room every row is in, and its name as events give it. */
export const ROOM = 'R'.repeat(43);
export const named = { id: ROOM, name: 'general' };
/** The room's 20 members: member00 … member19. */
export const MEMBERS = Array.from({ length: 20 }, (_, i) => `member${String(i).padStart(2, '0')}`);
/** Plain messages the store starts with. */
export const PLAIN_MESSAGES = 2000;

let seq = 0;
/**
 * The next row of `from` in ROOM (session `S-<from>`): seq counts up over the whole run, sent at
 * 1,000,000 + seq ms; its id is `r<seq>` unless `id` is given.
 */
export function row(from: string, text: string, more: { id?: string; action?: StoredMessage['action'] } = {}): StoredMessage {
  seq++;
  return { conversation: ROOM, id: more.id ?? `r${seq}`, from, session: `S-${from}`, seq, sentAt: 1_000_000 + seq, text, ...(more.action ? { action: more.action } : {}) };
}

export interface BenchStore {
  db: StoreDb;
  history: History;
  actions: MessageActions;
  /** The plain messages' ids (`m0` … `m1999`), oldest first. */
  ids: string[];
  /** Closes the store and removes its folder. */
  close(): void;
}

/**
 * A new store in a temp folder named `prefix`…, holding PLAIN_MESSAGES plain messages (`m<i>`,
 * from MEMBERS[i % 20], text `text(id)`) not yet committed.
 */
export function benchStore(prefix: string, text: (id: string) => string): BenchStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = new StoreDb(join(dir, 'store.db'), randomBytes(32));
  const history = new History(db);
  const index: SearchIndex = new SearchIndex(() => actions.indexable());
  const actions: MessageActions = new MessageActions(history, index, db);
  const ids: string[] = [];
  for (let i = 0; i < PLAIN_MESSAGES; i++) {
    const id = `m${i}`;
    history.add(row(MEMBERS[i % MEMBERS.length]!, text(id), { id }));
    ids.push(id);
  }
  return {
    db, history, actions, ids,
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CPU time (user + system, µs) `fn` takes: process.cpuUsage, so other processes count little. */
export function cpuUs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return d.user + d.system;
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
