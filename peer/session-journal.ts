// The journal of received sender sessions and replay records (`sessions.jsonl` in the account's
// folder). One JSON record a line, sealed with AES-256-GCM when the data folder has an at-rest
// key. A burst of changes is one write and one sync; the file is rewritten whole (temp file,
// fsync, rename, directory fsync) only when compacted: at start, on close, and when it has grown
// well past its live content.
// Records are written over zeros that the file already holds (preallocated a stretch at a time,
// PREALLOCATE_BYTES): the file's size does not change, so the sync has only data to put on disk,
// no inode change to commit through the file system's journal. Syncs back to back (a burst):
// p50 0.11-0.12 ms over zeros against 0.22-0.47 ms appended, p99 7-20 ms against 19-45 ms while
// others ran tests (test/bench/fdatasync-micro.ts). One sync every 200 ms (paced messages) costs
// 0.9-2.5 ms p50 either way on our 2-core VM: the disk's cache flush then carries what every
// other process wrote meanwhile (test/bench/path-floor.ts). Writes go to one descriptor kept open
// with O_DSYNC (one system call). The content ends at the first zero byte; a crash mid-write
// leaves a torn last line before the zeros, which is ignored: what it held was never
// acknowledged nor shown.
// A lone record (one session changed in the turn: a paced message, or a burst from one sender,
// whose changes fold into one record) is written synchronously: the thread pool's trip there and
// back added 0.1-0.3 ms to a paced message on a loaded 2-core machine (test/bench/trace-peer.mjs).
// Several records (several senders in one turn) go through the thread pool, so what arrives
// meanwhile is decrypted while the disk works.

import { closeSync, constants, fdatasync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { open, seal } from '../protocol/crypto.ts';
import { writeTextAtomic } from './json-file.ts';

const LINE_AAD = Buffer.from('p2p-chat/v1/session-journal-line');
/** Appends open with O_DSYNC where there is one: each write returns once on disk, one system call instead of two. */
const DSYNC: number | undefined = constants.O_DSYNC;
/** Zero bytes added at the end when a write would pass it (one slower sync every few hundred records). */
export const PREALLOCATE_BYTES = 64 * 1024;
const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/** One line of the journal: any JSON object; peer/inbound-sessions.ts checks the shapes. */
export type JournalRecord = Record<string, unknown>;

/** Where the content of the open file ends and what follows it. */
interface Extent {
  /** Where the next record goes: just after the last complete line. */
  end: number;
  /** The file's size (content, then zeros). */
  size: number;
  /** Past `end`, bytes up to here may not be zeros (a torn line, a failed write): the next write zeroes them. */
  dirtyTo: number;
}

export class SessionJournal {
  /** The append descriptor, opened on the first append and kept until compaction or close. */
  private fd?: number;
  /** Known once the file is open for appends (or just compacted). */
  private extent?: Extent;
  /** Bytes appended since the last compaction, and the size of that compaction. */
  private appended = 0;
  private compactedBytes = 0;

  /** `path` is the journal file; with `atRestKey` every line is sealed under it. */
  constructor(readonly path: string, private readonly atRestKey?: Buffer) {}

  /**
   * Every record in the file, in order. A last line that does not parse (a torn append) is
   * skipped; a damaged line before it throws an Error naming the file and what to do.
   */
  read(): JournalRecord[] {
    let text: string;
    try {
      text = content(readFileSync(this.path)).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n');
    const complete = text.endsWith('\n');
    const out: JournalRecord[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!line) continue;
      const last = i === lines.length - 1 || (i === lines.length - 2 && !lines[lines.length - 1]);
      try {
        const value: unknown = JSON.parse(this.atRestKey ? open(this.atRestKey, Buffer.from(line, 'base64'), LINE_AAD).toString('utf8') : line);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        out.push(value as JournalRecord);
      } catch {
        if (last && !complete) break; // a torn append: it was never acknowledged
        throw new Error(`${this.path} is damaged at line ${i + 1}; move it aside to start the received sessions afresh (messages sent before then are then refused as possible replays, message.before_start; newer ones, also of older sessions, are shown)`);
      }
    }
    return out;
  }

  /** Appends records; resolves once they are on disk (one write, one sync), rejects if not. */
  async append(records: JournalRecord[]): Promise<void> {
    if (!records.length) return;
    const lines = Buffer.from(records.map((r) => this.line(r)).join(''), 'utf8');
    const fd = (this.fd ??= this.openAppend());
    const x = this.extent!;
    const at = x.end;
    // The records, then zeros: over what a failed write may have left after them, and a new
    // stretch of free space when they would pass the end of the file.
    const size = at + lines.length > x.size ? at + lines.length + PREALLOCATE_BYTES : x.size;
    const through = Math.max(at + lines.length, x.dirtyTo, size > x.size ? size : 0);
    const bytes = through > at + lines.length ? Buffer.concat([lines, Buffer.alloc(through - at - lines.length)]) : lines;
    // Until this write is known to be whole, what it covers is suspect.
    x.dirtyTo = Math.max(x.dirtyTo, through);
    if (records.length === 1) {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
      if (!DSYNC) fdatasyncSync(fd);
    } else {
      for (let done = 0; done < bytes.length; ) done += (await writeAsync(fd, bytes, done, bytes.length - done, at + done)).bytesWritten;
      if (!DSYNC) await fdatasyncAsync(fd);
    }
    x.end = x.dirtyTo = at + lines.length;
    x.size = Math.max(x.size, through);
    this.appended += lines.length;
  }

  /** Whether the appended lines outweigh the live content enough to rewrite the file. */
  get wantsCompaction(): boolean {
    return this.appended > Math.max(1024 * 1024, 4 * this.compactedBytes);
  }

  /**
   * Replaces the file with `records` (the live content), synchronously and atomically; call it
   * when no append is under way.
   */
  compact(records: JournalRecord[]): void {
    const text = records.map((r) => this.line(r)).join('');
    // The open descriptor points at the file being replaced: close it first.
    this.closeFd();
    // Named like json-file's temps, so one left by a crash is cleared at start (removeStaleTemps).
    writeTextAtomic(this.path, text, `${this.path}.compact.json.${process.pid}.tmp`);
    syncDir(dirname(this.path));
    this.appended = 0;
    this.compactedBytes = Buffer.byteLength(text);
    // Exactly the text, no zeros yet: the first append adds them.
    this.extent = { end: this.compactedBytes, size: this.compactedBytes, dirtyTo: this.compactedBytes };
  }

  async close(): Promise<void> {
    this.closeFd();
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.extent = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private line(r: JournalRecord): string {
    const json = JSON.stringify(r);
    return (this.atRestKey ? seal(this.atRestKey, Buffer.from(json, 'utf8'), LINE_AAD).toString('base64') : json) + '\n';
  }

  private openAppend(): number {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // Positional writes: no O_APPEND (with it, Linux writes at the end whatever the position).
    const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT | (DSYNC ?? 0), 0o600);
    try {
      // A file just created must survive a crash too: its directory entry is synced once.
      syncDir(dirname(this.path));
      this.extent ??= extentOf(readFileSync(fd), fstatSync(fd).size);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }
}

/** The bytes before the first zero byte (the zeros after the content are free space). */
function content(file: Buffer): Buffer {
  const stop = file.indexOf(0);
  return stop < 0 ? file : file.subarray(0, stop);
}

/** Where records go in a file as found: after its last complete line, over any torn one. */
function extentOf(file: Buffer, size: number): Extent {
  const text = content(file);
  return { end: text.lastIndexOf(0x0a) + 1, size, dirtyTo: text.length };
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is as durable as they allow.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
