// The engine's one message store: a SQLite file (store.db) in the account's data folder, run by
// SQLite compiled to WebAssembly (node-sqlite3-wasm: real file access, no native module, so it
// loads in VS Code's extension host from the .vsix). It holds history (peer/history.ts), the
// envelopes and session bundles held for absent members (peer/held-envelopes.ts) and the outbox
// (peer/outbox.ts). DESIGN.md "Delivery, history, nothing lost".
//
// Crash safety: a write-ahead log (journal_mode=WAL; with EXCLUSIVE locking SQLite keeps its
// index in memory, so this file layer's missing shared memory does not matter): a commit appends
// its pages once (a rollback journal wrote them twice and cost ~4x as much per message), and a
// SIGKILL in the middle of a transaction leaves frames without a commit record, which the next
// open ignores; earlier records are never corrupted. A journal left by an older store is rolled
// back first (peer/store-journal.ts).
// A committed transaction has been written to the OS before COMMIT returns, so a SIGKILL after it
// loses nothing. `durability: 'power'` also fsyncs at every commit (synchronous=FULL), so a power
// loss loses nothing committed either; the default 'process' does not (synchronous=OFF): a
// power loss may lose or damage the last writes. Writes come in bursts: `write` joins one
// transaction per event-loop turn, so a burst of N messages costs one commit.
//
// Sealing: values that hold message content are sealed with AES-256-GCM under the at-rest key
// (peer/at-rest-key.ts, or SecretStorage in VS Code); the AAD names the table and the row's
// identity, so a sealed value moved to another row (or a changed index column) does not open.

import sqlite from 'node-sqlite3-wasm';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { open, seal, GCM_KEY_BYTES } from '../protocol/crypto.ts';
import { ProtocolError, isCoded } from '../protocol/errors.ts';
import { MIGRATIONS } from './store-schema.ts';
import { rollBackHotJournal } from './store-journal.ts';
import { processAlive } from './lock-wire.ts';

type Database = InstanceType<typeof sqlite.Database>;
/** A value SQLite stores or returns. */
export type SqlValue = number | bigint | string | Uint8Array | null;
/** One row as SQLite returns it: column name to value. */
export type SqlRow = Record<string, SqlValue>;

const AAD_LABEL = 'p2p-chat/v1/store-at-rest';
/** A sealed value in `meta` that only the right key opens: a wrong key is said at open, not later. */
const KEY_CHECK = 'p2p-chat store';

export interface StoreDbOptions {
  /** 'process' (default): survives SIGKILL; 'power': also survives power loss (an fsync per commit). */
  durability?: 'process' | 'power';
}

/** Paths open in this process: a second open of one file would race on SQLite's lock folder. */
const openHere = new Set<string>();

export class StoreDb {
  private readonly db: Database;
  private readonly statements = new Map<string, ReturnType<Database['prepare']>>();
  /** The turn's transaction (write): open until the turn ends or flush. */
  private turn?: { resolve: () => void; reject: (err: unknown) => void; done: Promise<void> };
  private depth = 0;
  private closed = false;
  /** A delete was written: once it commits, the WAL is checkpointed and truncated (its old page copies go). */
  private scrub = false;

  /**
   * Opens (creating when missing, mode 0600) the store at `path`, sealed under `key` (32 bytes).
   * Throws ProtocolError 'server.store_busy' when another live process has it open (or it is open
   * in this one), 'server.store_damaged' when it is not a store (naming the file) or was written by
   * a newer version, 'crypto.decrypt_failed' when `key` is not the key it was sealed under.
   */
  constructor(readonly path: string, private readonly key: Buffer, options: StoreDbOptions = {}) {
    if (key.length !== GCM_KEY_BYTES) throw new ProtocolError('crypto.bad_key', `the at-rest key must be ${GCM_KEY_BYTES} bytes`);
    if (openHere.has(path)) throw new ProtocolError('server.store_busy', `${path} is already open in this process`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    claimLock(path);
    // SQLite would create it with the process umask (often 0644): create it private first.
    closeSync(openSync(path, 'a', 0o600));
    try {
      // No live process owns it now: a journal left behind is a transaction that never committed.
      rollBackHotJournal(path);
      this.db = new sqlite.Database(path);
    } catch (err) {
      releaseLock(path);
      throw damaged(path, err);
    }
    openHere.add(path);
    try {
      // EXCLUSIVE: the lock is taken once and held until close (no lock folder per transaction).
      // EXCLUSIVE before WAL: then SQLite never asks the file layer for shared memory.
      this.db.exec('PRAGMA locking_mode=EXCLUSIVE');
      const mode = (this.db.get('PRAGMA journal_mode=WAL') as SqlRow).journal_mode;
      if (mode !== 'wal') this.db.exec('PRAGMA journal_mode=TRUNCATE');
      // secure_delete: freed pages and cells are zeroed, so a deleted message's sealed text does
      // not linger in free space (issue 12; the WAL's old copies go at `scrubAfterCommit`).
      this.db.exec(`PRAGMA synchronous=${options.durability === 'power' ? 'FULL' : 'OFF'}; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;`);
      this.migrate();
      this.checkKey();
    } catch (err) {
      this.close();
      if (isCoded(err)) throw err;
      throw damaged(path, err);
    }
  }

  /** Whether close has not been called. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Runs `sql` with `values` (positional); returns the number of rows changed. */
  run(sql: string, values: SqlValue[] = []): number {
    return this.prepared(sql).run(values).changes;
  }

  /** The first row of `sql`, or undefined. */
  get(sql: string, values: SqlValue[] = []): SqlRow | undefined {
    return (this.prepared(sql).get(values) as SqlRow | null) ?? undefined;
  }

  /** Every row of `sql` (callers bound it with LIMIT). */
  all(sql: string, values: SqlValue[] = []): SqlRow[] {
    return this.prepared(sql).all(values) as SqlRow[];
  }

  /**
   * Runs `fn` inside one transaction and commits before returning (nested calls join the outer
   * one; a pending turn's writes are committed with it; a throw undoes only what `fn` wrote, then
   * rethrows). Use when the caller must know the
   * write is committed when it returns.
   */
  transaction<T>(fn: () => T): T {
    if (this.closed) throw new ProtocolError('server.store_damaged', `${this.path} is closed`);
    if (this.depth === 0 && this.turn) {
      // The turn's transaction is open: join it and commit it now.
      const result = this.savepoint(fn);
      this.flush();
      return result;
    }
    const outer = this.depth === 0;
    if (outer) this.step('BEGIN IMMEDIATE');
    let result: T;
    try {
      result = this.savepoint(fn);
    } catch (err) {
      if (outer) this.db.exec('ROLLBACK');
      throw err;
    }
    if (outer) this.step('COMMIT');
    if (outer && this.scrub) this.checkpoint();
    return result;
  }

  /**
   * Runs `fn` inside the current event-loop turn's transaction (begun here if none), committed
   * when the turn ends (setImmediate) or at flush/close: a burst of N writes costs one commit.
   * A throw undoes only what `fn` wrote. Reads on this store see the write at once; it is
   * committed (safe from SIGKILL) once `committed()` resolves.
   */
  write<T>(fn: () => T): T {
    if (this.closed) throw new ProtocolError('server.store_damaged', `${this.path} is closed`);
    if (!this.turn && this.depth === 0) {
      this.step('BEGIN IMMEDIATE');
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      done.catch(() => {}); // a failed commit is reported to whoever awaits committed()
      this.turn = { resolve, reject, done };
      setImmediate(() => this.flush());
    }
    return this.savepoint(fn);
  }

  /**
   * Asks that once the current transaction commits, the WAL be checkpointed into the database and
   * truncated: the old copies of pages just rewritten (a deleted message's) leave the -wal file.
   */
  scrubAfterCommit(): void {
    this.scrub = true;
    if (!this.turn && this.depth === 0) this.checkpoint();
  }

  /** Resolves when every write so far is committed; rejects if that commit failed. */
  committed(): Promise<void> {
    return this.turn?.done ?? Promise.resolve();
  }

  /** Commits the turn's transaction now (no-op without one). A failed commit is rolled back and thrown. */
  flush(): void {
    const turn = this.turn;
    if (!turn || this.closed) return;
    this.turn = undefined;
    try {
      this.step('COMMIT');
      turn.resolve();
    } catch (err) {
      try { this.db.exec('ROLLBACK'); } catch { /* nothing to roll back */ }
      turn.reject(err);
      throw err;
    }
    if (this.scrub) this.checkpoint();
  }

  private checkpoint(): void {
    this.scrub = false;
    // A cached statement left mid-step by `get` holds a read: checkpointing needs none. Deletes
    // are rare, so the cache is dropped (statements are prepared again when next used).
    for (const st of this.statements.values()) st.finalize();
    this.statements.clear();
    const r = this.db.get('PRAGMA wal_checkpoint(TRUNCATE)') as SqlRow;
    if (Number(r.busy) !== 0) throw new ProtocolError('server.store_busy', `${this.path}: the write-ahead log could not be checkpointed after a delete; the deleted text may stay in ${this.path}-wal until the next delete or restart`);
  }

  /** Seals `plaintext` for `table`'s row `identity` (the values that name the row). */
  seal(table: string, identity: readonly (string | number)[], plaintext: string | Uint8Array): Buffer {
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    return seal(this.key, bytes, aad(table, identity));
  }

  /**
   * Opens what `seal` sealed for the same table and row identity. Throws
   * ProtocolError('crypto.decrypt_failed') naming the table when it does not open (another row's
   * value, a changed index column, tampering, another key).
   */
  open(table: string, identity: readonly (string | number)[], sealed: SqlValue): Buffer {
    if (!(sealed instanceof Uint8Array)) throw new ProtocolError('server.store_damaged', `${this.path}: a sealed value in ${table} is not a blob`);
    try {
      return open(this.key, sealed, aad(table, identity));
    } catch (err) {
      throw new ProtocolError('crypto.decrypt_failed', `${this.path}: a sealed value in ${table} does not open (moved from another row, altered, or sealed under another key)`, { cause: err });
    }
  }

  /** Commits what is pending and closes the file (idempotent). */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      for (const s of this.statements.values()) s.finalize();
      this.statements.clear();
      try { this.db.close(); } finally {
        openHere.delete(this.path);
        releaseLock(this.path);
      }
    }
  }

  private savepoint<T>(fn: () => T): T {
    this.step('SAVEPOINT w');
    this.depth++;
    try {
      const result = fn();
      this.step('RELEASE w');
      return result;
    } catch (err) {
      this.db.exec('ROLLBACK TO w; RELEASE w');
      throw err;
    } finally {
      this.depth--;
    }
  }

  /** Runs a statement without parameters through the prepared cache (parsing SQL costs on every message). */
  private step(sql: string): void {
    this.prepared(sql).run([]);
  }

  private prepared(sql: string): ReturnType<Database['prepare']> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The user_version ladder: each step runs once, in its own transaction, in order. */
  private migrate(): void {
    const version = Number((this.db.get('PRAGMA user_version') as SqlRow).user_version);
    if (version > MIGRATIONS.length) {
      throw new ProtocolError('server.store_damaged', `${this.path} was written by a newer version (schema ${version}, this one knows ${MIGRATIONS.length}); update p2p-chat`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.db.exec(MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version=${v + 1}`);
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      }
    }
  }

  /** Writes the key check on first open; later opens refuse a key that does not open it. */
  private checkKey(): void {
    const row = this.get('SELECT value FROM meta WHERE name = ?', ['key-check']);
    if (!row) {
      this.transaction(() => this.run('INSERT INTO meta(name, value) VALUES (?, ?)', ['key-check', this.seal('meta', ['key-check'], KEY_CHECK)]));
      return;
    }
    try {
      this.open('meta', ['key-check'], row.value ?? null);
    } catch (err) {
      throw new ProtocolError('crypto.decrypt_failed', `${this.path} was sealed under another at-rest key (is this the right data folder, or was at-rest.key replaced?)`, { cause: err });
    }
  }
}

function aad(table: string, identity: readonly (string | number)[]): Buffer {
  return Buffer.from(JSON.stringify([AAD_LABEL, table, ...identity]), 'utf8');
}

function damaged(path: string, err: unknown): ProtocolError {
  const why = err instanceof Error ? err.message : String(err);
  return new ProtocolError('server.store_damaged', `${path} cannot be opened as a message store (${why}); move it aside to start history afresh`, { cause: err });
}

// ---- the lock folder -------------------------------------------------------------------------
// node-sqlite3-wasm locks a database by creating the folder `<path>.lock` and removes it on
// unlock. A process killed while holding it leaves the folder behind and every later open would
// fail as busy. So the holder writes its pid to `<path>.owner`; an open that finds the folder
// with a dead (or no) owner removes it, and store-journal.ts rolls back the journal it left.

function claimLock(path: string): void {
  const lock = `${path}.lock`;
  const ownerFile = `${path}.owner`;
  if (existsSync(lock)) {
    let owner = NaN;
    try { owner = Number(readFileSync(ownerFile, 'utf8').trim()); } catch { /* no owner: stale */ }
    if (owner !== process.pid && processAlive(owner)) {
      throw new ProtocolError('server.store_busy', `${path} is in use by process ${owner} (one engine per data folder); if no engine runs, remove ${lock}`);
    }
    rmSync(lock, { recursive: true, force: true });
  }
  writeFileSync(ownerFile, String(process.pid), { mode: 0o600 });
}

function releaseLock(path: string): void {
  rmSync(`${path}.owner`, { force: true });
}

