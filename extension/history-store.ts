// The chat history of each conversation, kept by the extension host so that closing the view or
// reloading the window loses nothing. One file per conversation in the account's folder, sealed
// with AES-256-GCM under the at-rest key from SecretStorage, written at most every half second.
// It is handed what to write with each change (extension/timelines.ts), and reads nothing else.

import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { open, seal, sha256 } from '../protocol/crypto.ts';
import type { ConversationId } from '../protocol/peer.ts';
import type { TimelineItem } from '../protocol/view.ts';

const WRITE_DELAY_MS = 500;
/** A conversation keeps its newest items; older ones are dropped from disk. */
export const MAX_HISTORY_ITEMS = 20_000;
const AAD = Buffer.from('p2p-chat/v1/history');

/** What timelines.ts needs of a history store (tests pass one that keeps nothing). */
export interface History {
  load(key: ConversationId): TimelineItem[];
  changed(key: ConversationId, items: readonly TimelineItem[]): void;
  flush(): void;
}

export class HistoryStore implements History {
  /** Conversations changed since the last write, with their items as of the last change. */
  private readonly dirty = new Map<ConversationId, readonly TimelineItem[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dir: string,
    private readonly key: Buffer,
  ) {}

  /** A conversation's saved items; none when there is no file or it does not open under this key. */
  load(key: ConversationId): TimelineItem[] {
    try {
      const sealed = readFileSync(this.path(key));
      return JSON.parse(open(this.key, sealed, AAD).toString('utf8')) as TimelineItem[];
    } catch {
      return [];
    }
  }

  /** `key`'s timeline is now `items`: written within WRITE_DELAY_MS (or at flush). */
  changed(key: ConversationId, items: readonly TimelineItem[]): void {
    this.dirty.set(key, items);
    this.timer ??= setTimeout(() => this.flush(), WRITE_DELAY_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty.size) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const [key, items] of this.dirty) {
      const tmp = `${this.path(key)}.tmp`;
      writeFileSync(tmp, seal(this.key, Buffer.from(JSON.stringify(items.slice(-MAX_HISTORY_ITEMS))), AAD), { mode: 0o600 });
      renameSync(tmp, this.path(key));
    }
    this.dirty.clear();
  }

  private path(key: ConversationId): string {
    return join(this.dir, `${sha256(Buffer.from(key)).toString('hex').slice(0, 32)}.history`);
  }
}
