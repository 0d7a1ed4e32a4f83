// The append-only journal of received sender sessions and replay records (`sessions.jsonl` in the
// account's folder). One JSON record a line, sealed with AES-256-GCM when the data folder has an
// at-rest key. A burst of changes is one append and one fdatasync; the file is rewritten whole
// (temp file, fsync, rename, directory fsync) only when compacted: at start, on close, and when
// it has grown well past its live content. Appends go to one descriptor kept open with O_DSYNC.
// A lone record (one session changed in the turn: a paced message, or a burst from one sender,
// whose changes fold into one record) is written synchronously: the thread pool's trip there and
// back added 0.1-0.3 ms to a paced message on a loaded 2-core machine (test/bench/trace-peer.mjs),
// beside the sync itself (0.15 ms idle, 0.6 ms under that load: test/bench/fdatasync-micro.ts);
// the burst scenario kept its pace. Several records (several senders in one turn) go through the
// thread pool, so what arrives meanwhile is decrypted while the disk works. A crash mid-append leaves a torn last line, which is ignored: what it held was
// never acknowledged nor shown.

import { closeSync, constants, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { open, seal } from '../protocol/crypto.ts';
import { writeTextAtomic } from './json-file.ts';

const LINE_AAD = Buffer.from('p2p-chat/v1/session-journal-line');
/** Appends open with O_DSYNC where there is one: each write returns once on disk, one system call instead of two. */
const DSYNC: number | undefined = constants.O_DSYNC;
const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/** One line of the journal: any JSON object; peer/inbound-sessions.ts checks the shapes. */
export type JournalRecord = Record<string, unknown>;

export class SessionJournal {
  /** The append descriptor, opened on the first append and kept until compaction or close. */
  private fd?: number;
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
      text = readFileSync(this.path, 'utf8');
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

  /** Appends records; resolves once they are on disk (one write, one fdatasync), rejects if not. */
  async append(records: JournalRecord[]): Promise<void> {
    if (!records.length) return;
    const bytes = Buffer.from(records.map((r) => this.line(r)).join(''), 'utf8');
    const fd = (this.fd ??= this.openAppend());
    if (records.length === 1) {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
      if (!DSYNC) fdatasyncSync(fd);
    } else {
      for (let at = 0; at < bytes.length; ) at += (await writeAsync(fd, bytes, at, bytes.length - at)).bytesWritten;
      if (!DSYNC) await fdatasyncAsync(fd);
    }
    this.appended += bytes.length;
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
  }

  async close(): Promise<void> {
    this.closeFd();
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private line(r: JournalRecord): string {
    const json = JSON.stringify(r);
    return (this.atRestKey ? seal(this.atRestKey, Buffer.from(json, 'utf8'), LINE_AAD).toString('base64') : json) + '\n';
  }

  private openAppend(): number {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (DSYNC ?? 0), 0o600);
    // A file just created must survive a crash too: its directory entry is synced once.
    syncDir(dirname(this.path));
    return fd;
  }
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
