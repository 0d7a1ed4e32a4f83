// The write side of the session journal (session-journal.ts): changes made in one turn of the
// event loop are appended together with one sync, and what waits to be shown runs only after
// that write is on disk (DESIGN.md "End-to-end encryption": a used key's record is durable
// before its message is visible). One write at a time; changes made meanwhile go in the next.

import type { JournalRecord, SessionJournal } from './session-journal.ts';

export class JournalBatch {
  /** Changes not yet written, by what they are about (a later change of the same thing replaces it). */
  private readonly pending = new Map<string, () => JournalRecord>();
  /** Run once the write that takes the pending changes is on disk. */
  private waiting: (() => void)[] = [];
  /** Run once that write has ended, well or not. */
  private attempts: (() => void)[] = [];
  private scheduled = false;
  private writing?: Promise<void>;
  private closed = false;

  /**
   * Runs before each journal write (the engine commits its message store here): a message is in
   * history before the record that its key was used, so a crash between the two never loses it.
   * A throw fails the write like a disk error.
   */
  beforeWrite?: () => void;

  /**
   * `snapshot` is everything live as records, written whole when the journal compacts; `onError`
   * hears of a write that failed (what waited on it is not run). `readOnly`: nothing is written.
   */
  constructor(
    private readonly journal: SessionJournal,
    private readonly snapshot: () => JournalRecord[],
    private readonly onError: (err: Error) => void,
    readOnly: boolean,
  ) {
    this.closed = readOnly;
  }

  /** Records a change about `key` (made lazily, at write time) and schedules a write. */
  set(key: string, make: () => JournalRecord): void {
    this.pending.set(key, make);
    this.schedule();
  }

  /** Forgets an unwritten change (the thing it was about is gone). */
  delete(key: string): void {
    this.pending.delete(key);
  }

  /** Forgets every unwritten change (the constructor's replay made them; the compaction holds them). */
  clear(): void {
    this.pending.clear();
  }

  /** Runs `fn` once every change made so far is on disk (in call order). */
  afterDurable(fn: () => void): void {
    this.waiting.push(fn);
    this.schedule();
  }

  /** Callbacks waiting for the next write. */
  get waitingForDisk(): number {
    return this.waiting.length;
  }

  /** Resolves once the write that takes what is pending now has ended, well or not. */
  nextWrite(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.attempts.push(resolve);
      this.schedule();
    });
  }

  /** Writes what is pending and runs what waits on it; nothing is written after. */
  async close(): Promise<void> {
    if (this.writing) await this.writing;
    if (this.pending.size || this.waiting.length || this.attempts.length) await this.flush();
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** One append (one sync) of everything pending; then the callbacks that waited for it. */
  private flush(): Promise<void> {
    const records = [...this.pending.values()].map((make) => make());
    const pendingKeys = [...this.pending.keys()];
    this.pending.clear();
    const callbacks = this.waiting;
    this.waiting = [];
    const attempts = this.attempts;
    this.attempts = [];
    const run: Promise<void> = (async () => {
      try {
        this.beforeWrite?.();
        await this.journal.append(records);
        if (this.journal.wantsCompaction) {
          // The snapshot holds what changed during the append too: their messages are committed first.
          this.beforeWrite?.();
          this.journal.compact(this.snapshot());
        }
      } catch (err) {
        // Not on disk: what waited is not shown nor acknowledged (its sender sends again to no
        // avail: the keys are used here). Keep the changes for the next write.
        for (const [i, k] of pendingKeys.entries()) if (!this.pending.has(k)) this.pending.set(k, () => records[i]);
        this.onError(new Error(`could not record received messages on disk (${(err as Error).message}); ${callbacks.length} message(s) were not shown: free disk space or fix the data folder's permissions`));
        return false;
      }
      for (const fn of callbacks) fn();
      return true;
    })().then((written) => {
      this.writing = undefined;
      for (const done of attempts) done();
      // After a failure, the kept changes go with the next change (no retry loop on a full disk).
      if (written && (this.pending.size || this.waiting.length || this.attempts.length)) this.schedule();
    });
    this.writing = run;
    return run;
  }
}
