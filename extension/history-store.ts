// The chat history of each conversation, kept by the extension host so that closing the view or
// reloading the window loses nothing. One file per conversation in the account's folder, sealed
// with AES-256-GCM under the at-rest key from SecretStorage, written at most every half second.

import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { open, seal, sha256 } from '../protocol/crypto.ts';
import type { TimelineItem } from '../protocol/view.ts';

const WRITE_DELAY_MS = 500;
/** A conversation keeps its newest items; older ones are dropped from disk. */
export const MAX_HISTORY_ITEMS = 20_000;
const AAD = Buffer.from('p2p-chat/v1/history');

export class HistoryStore {
  private readonly dirty = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dir: string,
    private readonly key: Buffer,
    private readonly timelines: Map<string, TimelineItem[]>,
  ) {}

  load(key: string): TimelineItem[] {
    try {
      const sealed = readFileSync(this.path(key));
      return JSON.parse(open(this.key, sealed, AAD).toString('utf8')) as TimelineItem[];
    } catch {
      return [];
    }
  }

  changed(key: string): void {
    this.dirty.add(key);
    this.timer ??= setTimeout(() => this.flush(), WRITE_DELAY_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const key of this.dirty) {
      const items = (this.timelines.get(key) ?? []).slice(-MAX_HISTORY_ITEMS);
      const tmp = `${this.path(key)}.tmp`;
      writeFileSync(tmp, seal(this.key, Buffer.from(JSON.stringify(items)), AAD), { mode: 0o600 });
      renameSync(tmp, this.path(key));
    }
    this.dirty.clear();
  }

  private path(key: string): string {
    return join(this.dir, `${sha256(Buffer.from(key)).toString('hex').slice(0, 32)}.history`);
  }
}
