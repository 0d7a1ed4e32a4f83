// Each room's verified log on disk, one append-only file per room: `rooms/<sha256(room id)>.jsonl`
// in the account's folder (the id comes from the tracker and peers, so it is never a path itself).
// One event a line, sealed with AES-256-GCM when the data folder has an at-rest key (bound to the
// room id, so lines cannot move between files). A room event costs one line appended, whatever
// the log's length: state.json (peer/data-folder.ts) keeps only the small index (proof key, fork).
//
// Durability: appends are not fsynced. Every event is signed and hash-chained, and the log is
// fetched again from the tracker (or a member) and verified whatever is lost: a crash loses at
// most the newest lines, which the catch-up at start brings back (a tracker then showing another
// history at those seqs is still caught by the heads compared with members). Writes are batched
// per turn of the event loop and done synchronously (a write() into the page cache, no sync): one
// write per room per turn, in order, and flush() needs no coordination with a write under way.
//
// At start the caller (RoomBook.load) re-verifies each file by replaying its chain; a torn last
// line (a crash mid-append) is dropped and the file rewritten without it; a damaged file is moved
// aside (`.damaged`), said by name, and its room's log fetched again.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, seal, sha256 } from '../protocol/crypto.ts';
import type { RoomEvent } from '../protocol/room-log.ts';
import { removeStaleTemps, writeTextAtomic } from './json-file.ts';

const LINE_LABEL = 'p2p-chat/v1/room-log-line';
const FILE_NAME = /^[0-9a-f]{64}\.jsonl$/;

/** What a room's file held when read. */
export interface RoomFileRead {
  /** The events of its complete lines (none when missing or damaged). */
  events: RoomEvent[];
  /** `torn`: a partial last line was left out; `damaged`: a line before it is unreadable. */
  status: 'missing' | 'ok' | 'torn' | 'damaged';
  /** For a damaged file: what is wrong, naming the file. */
  error?: string;
}

export class RoomLogStore {
  /** Lines waiting for this turn's write, by room id (Map: ids come from peers). */
  private readonly pending = new Map<string, string[]>();
  /** Rooms whose append failed: not appended to again (a gap would break the chain); re-fetched at next start. */
  private readonly failed = new Set<string>();
  private scheduled?: NodeJS.Immediate;
  /** Bytes appended or rewritten since this store was made (tests, diagnostics). */
  bytesWritten = 0;

  /** Hears of an append that failed (the engine reports it). */
  onError: (err: Error) => void = () => {};

  /** `dir` holds the room files; with `atRestKey` every line is sealed under it. */
  constructor(readonly dir: string, private readonly atRestKey?: Buffer) {}

  /** The file of a room: named by the hash of its id. */
  pathOf(id: string): string {
    return join(this.dir, `${sha256(Buffer.from(id, 'utf8')).toString('hex')}.jsonl`);
  }

  /** Reads a room's file without changing it (events are checked by the caller's replay). */
  read(id: string): RoomFileRead {
    const path = this.pathOf(id);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], status: 'missing' };
      return { events: [], status: 'damaged', error: `${path} cannot be read (${(err as Error).message})` };
    }
    const end = text.lastIndexOf('\n') + 1;
    const lines = text.slice(0, end).split('\n');
    lines.pop();
    const events: RoomEvent[] = [];
    for (let i = 0; i < lines.length; i++) {
      try {
        const value: unknown = JSON.parse(this.atRestKey ? open(this.atRestKey, Buffer.from(lines[i], 'base64'), this.aad(id)).toString('utf8') : lines[i]);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an event');
        events.push(value as RoomEvent);
      } catch {
        return { events: [], status: 'damaged', error: `${path} is damaged at line ${i + 1}` };
      }
    }
    // Bytes after the last newline are an append cut short by a crash: never relied on.
    return { events, status: end < text.length ? 'torn' : 'ok' };
  }

  /** Queues events to append to a room's file; they are written together at the end of this turn. */
  append(id: string, events: RoomEvent[]): void {
    if (!events.length || this.failed.has(id)) return;
    const lines = events.map((e) => this.line(id, e));
    const queued = this.pending.get(id);
    if (queued) queued.push(...lines);
    else this.pending.set(id, lines);
    this.scheduled ??= setImmediate(() => {
      this.scheduled = undefined;
      this.flush();
    });
  }

  /** Writes what is queued now (at the end of a turn, and on flush/close). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (!this.pending.size) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const [id, lines] of this.pending) {
      const text = lines.join('');
      try {
        appendFileSync(this.pathOf(id), text, { mode: 0o600 });
        this.bytesWritten += Buffer.byteLength(text);
      } catch (err) {
        this.failed.add(id);
        this.onError(new Error(`could not append to ${this.pathOf(id)} (${(err as Error).message}); the room's log is fetched again at the next start`));
      }
    }
    this.pending.clear();
  }

  /**
   * Replaces a room's file with `events`, atomically (temp file, fsync, rename): for a log moved
   * out of an older state.json (state.json drops it only after this), and for a torn file.
   */
  replace(id: string, events: RoomEvent[]): void {
    this.pending.delete(id);
    this.failed.delete(id);
    const path = this.pathOf(id);
    const text = events.map((e) => this.line(id, e)).join('');
    // Named like json-file's temps, so one left by a crash is cleared at start (removeStaleTemps).
    writeTextAtomic(path, text, `${path}.replace.json.${process.pid}.tmp`);
    this.bytesWritten += Buffer.byteLength(text);
  }

  /** Moves a damaged file aside (`<file>.damaged`, replacing an older one); returns the new path. */
  quarantine(id: string): string {
    this.pending.delete(id);
    this.failed.delete(id);
    const path = this.pathOf(id);
    try {
      renameSync(path, `${path}.damaged`);
    } catch {
      rmSync(path, { force: true });
    }
    return `${path}.damaged`;
  }

  /** A room forgotten (left, kicked, closed): its file goes, with anything queued for it. */
  remove(id: string): void {
    this.pending.delete(id);
    this.failed.delete(id);
    rmSync(this.pathOf(id), { force: true });
  }

  /**
   * At start: clears temps left by a crash, and removes room files of rooms the index does not
   * hold (forgotten before a crash, or made just before one and never recorded). Returns their names.
   */
  tidy(ids: Iterable<string>): string[] {
    removeStaleTemps(this.dir);
    const keep = new Set<string>();
    for (const id of ids) keep.add(this.pathOf(id));
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!FILE_NAME.test(name) || keep.has(join(this.dir, name))) continue;
      rmSync(join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }

  private aad(id: string): Buffer {
    return Buffer.from(`${LINE_LABEL} ${id}`, 'utf8');
  }

  private line(id: string, event: RoomEvent): string {
    const json = JSON.stringify(event);
    return (this.atRestKey ? seal(this.atRestKey, Buffer.from(json, 'utf8'), this.aad(id)).toString('base64') : json) + '\n';
  }
}
