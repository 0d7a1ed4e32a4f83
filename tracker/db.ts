// The tracker's SQLite database (node-sqlite3). WAL with synchronous=FULL: writes are few (accounts,
// room events), and a committed write must survive a power cut. The schema is versioned with
// PRAGMA user_version; each migration runs once, in order, inside a transaction. The database and
// its -wal and -shm files hold users, fingerprints, membership logs, salts and bcrypt hashes: they
// are created (and, if an older tracker left them readable, narrowed to) mode 0600.

import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { nameSkeleton } from '../protocol/names.ts';

/** Owner read and write only. */
export const DB_FILE_MODE = 0o600;
const SIDE_FILES = ['-wal', '-shm', '-journal'];

export type Row = Record<string, unknown>;

type Migration = string | ((tx: Statements) => Promise<void>);

const MIGRATIONS: Migration[] = [
  // 1: accounts, tokens, rooms and their signed logs.
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     salt BLOB NOT NULL,
     auth_hash TEXT NOT NULL,
     signing_key BLOB NOT NULL,
     encryption_key BLOB NOT NULL,
     encryption_key_sig BLOB NOT NULL,
     fingerprint TEXT NOT NULL,
     key_blob BLOB NOT NULL,
     created INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE tokens (
     hash TEXT PRIMARY KEY,
     user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     created INTEGER NOT NULL,
     expires INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX tokens_user ON tokens(user);
   CREATE TABLE rooms (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     check_hash TEXT,
     closed INTEGER NOT NULL DEFAULT 0,
     created INTEGER NOT NULL
   ) STRICT;
   CREATE UNIQUE INDEX rooms_open_name ON rooms(name) WHERE closed = 0;
   CREATE TABLE room_events (
     room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     body TEXT NOT NULL,
     PRIMARY KEY (room, seq)
   ) STRICT;`,
  // 2: facts about the database itself, such as which tracker secret belongs to it.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;`,
  // 3: confusable skeletons (protocol/names.ts) of user names and open room names, unique, so a
  // look-alike of an existing name is refused by one indexed lookup, race-free. Names stored
  // before this rule may share a skeleton: the oldest of each group holds it, the others NULL.
  async (tx) => {
    await tx.exec('ALTER TABLE users ADD COLUMN skeleton TEXT; ALTER TABLE rooms ADD COLUMN skeleton TEXT;');
    await fillSkeletons(tx);
    await tx.exec('CREATE UNIQUE INDEX users_skeleton ON users(skeleton); CREATE UNIQUE INDEX rooms_open_skeleton ON rooms(skeleton) WHERE closed = 0;');
  },
  // 4: the addresses each user logged in from (the most recent few, tracker/accounts.ts
  // KNOWN_ADDRESSES_PER_USER): their logins go ahead of that address's guesses, across restarts.
  `CREATE TABLE known_logins (
     user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     address TEXT NOT NULL,
     last INTEGER NOT NULL,
     PRIMARY KEY (user, address)
   ) STRICT;`,
  // 5: when the tracker stored each room event (its own clock, not the event's claimed time), so
  // the joins per user and room per day (--room-joins-per-day) are counted again after a restart.
  `ALTER TABLE room_events ADD COLUMN received INTEGER;`,
  // 6: the skeleton folds `cl` and `d` together (TS #39 `d → cl`, protocol/names.ts): every stored
  // skeleton is computed again, oldest first as in 3, so of names that now look alike (dora and a
  // later clora) the oldest holds it and the others keep their names, with NULL.
  async (tx) => {
    await tx.exec('UPDATE users SET skeleton = NULL; UPDATE rooms SET skeleton = NULL;');
    await fillSkeletons(tx);
  },
  // 7: the mailbox (tracker/mailbox.ts, --mailbox): sealed items members left for offline users,
  // as the JSON they sent (the schema's fields only), with what the bounds and drop notices need;
  // and the notices of dropped items kept for depositors who were offline. A deleted user's
  // mailbox, deposits and notices go with the account (ON DELETE CASCADE). IF NOT EXISTS: a
  // database whose user_version was set back (tests of earlier migrations do) runs it again.
  `CREATE TABLE IF NOT EXISTS mailbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     recipient TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     depositor TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     room TEXT NOT NULL,
     session TEXT NOT NULL,
     seq INTEGER,
     bytes INTEGER NOT NULL,
     received INTEGER NOT NULL,
     body TEXT NOT NULL
   ) STRICT;
   CREATE INDEX IF NOT EXISTS mailbox_recipient ON mailbox(recipient, id);
   CREATE INDEX IF NOT EXISTS mailbox_depositor ON mailbox(depositor, recipient);
   CREATE INDEX IF NOT EXISTS mailbox_received ON mailbox(received);
   CREATE TABLE IF NOT EXISTS mailbox_drops (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     depositor TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     recipient TEXT NOT NULL,
     room TEXT NOT NULL,
     session TEXT NOT NULL,
     seq INTEGER,
     reason TEXT NOT NULL,
     created INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX IF NOT EXISTS mailbox_drops_depositor ON mailbox_drops(depositor, id);`,
];

/**
 * Gives every user and open room without a skeleton its skeleton, unless another row already
 * holds it (names from before the rule): oldest first, so the first of look-alikes keeps it.
 * Idempotent; run after the migrations at every start, so a group whose holder was deleted gets
 * a new holder.
 */
async function fillSkeletons(tx: Statements): Promise<void> {
  for (const table of ['users', 'rooms'] as const) {
    const open = table === 'rooms' ? ' AND closed = 0' : '';
    const key = table === 'users' ? 'name' : 'id';
    const taken = new Set((await tx.all<{ skeleton: string }>(`SELECT skeleton FROM ${table} WHERE skeleton IS NOT NULL${open}`)).map((r) => r.skeleton));
    const rows = await tx.all<{ name: string; key: string }>(`SELECT name, ${key} AS key FROM ${table} WHERE skeleton IS NULL${open} ORDER BY created, ${key}`);
    for (const row of rows) {
      const skeleton = nameSkeleton(row.name);
      if (taken.has(skeleton)) continue;
      taken.add(skeleton);
      await tx.run(`UPDATE ${table} SET skeleton = ? WHERE ${key} = ?`, skeleton, row.key);
    }
  }
}

/** The statements available inside a transaction. */
export interface Statements {
  exec(sql: string): Promise<void>;
  run(sql: string, ...params: unknown[]): Promise<{ changes: number }>;
  get<T = Row>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  all<T = Row>(sql: string, ...params: unknown[]): Promise<T[]>;
}

/**
 * One connection has one transaction at a time, and any statement issued while it is open
 * becomes part of it (and is lost if it rolls back). So every statement waits its turn in one
 * queue, and a transaction holds the queue from BEGIN to COMMIT.
 */
export class Database implements Statements {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: sqlite3.Database) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  transaction<T>(fn: (tx: Statements) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.rawExec('BEGIN IMMEDIATE');
      try {
        const result = await fn({
          exec: (sql) => this.rawExec(sql),
          run: (sql, ...p) => this.rawRun(sql, ...p),
          get: (sql, ...p) => this.rawGet(sql, ...p),
          all: (sql, ...p) => this.rawAll(sql, ...p),
        });
        await this.rawExec('COMMIT');
        return result;
      } catch (err) {
        await this.rawExec('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  static async open(path: string): Promise<Database> {
    makePrivate(path);
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(path, (err) => (err ? reject(err) : resolve(d)));
    });
    const db = new Database(raw);
    // One connection, statements in submission order: the in-memory room heads rely on it.
    raw.serialize();
    raw.configure('busyTimeout', 5000);
    await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
    await db.migrate();
    await db.transaction(fillSkeletons);
    // SQLite gives -wal and -shm the main file's mode; ones left by an older tracker are narrowed.
    makePrivate(path);
    return db;
  }

  private async migrate(): Promise<void> {
    const { user_version: version } = (await this.get('PRAGMA user_version')) as { user_version: number };
    if (version > MIGRATIONS.length) {
      throw new Error(`the database has schema version ${version}, newer than this tracker knows (${MIGRATIONS.length}); upgrade the tracker`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      const step = MIGRATIONS[v];
      await this.transaction(async (tx) => {
        if (typeof step === 'string') await tx.exec(step);
        else await step(tx);
        await tx.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  exec(sql: string): Promise<void> {
    return this.exclusive(() => this.rawExec(sql));
  }

  run(sql: string, ...params: unknown[]): Promise<{ changes: number }> {
    return this.exclusive(() => this.rawRun(sql, ...params));
  }

  get<T = Row>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return this.exclusive(() => this.rawGet<T>(sql, ...params));
  }

  all<T = Row>(sql: string, ...params: unknown[]): Promise<T[]> {
    return this.exclusive(() => this.rawAll<T>(sql, ...params));
  }

  private rawExec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  private rawRun(sql: string, ...params: unknown[]): Promise<{ changes: number }> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (err) {
        if (err) reject(err);
        else resolve({ changes: this.changes });
      }),
    );
  }

  private rawGet<T = Row>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return new Promise((resolve, reject) => this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T))));
  }

  private rawAll<T = Row>(sql: string, ...params: unknown[]): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  close(): Promise<void> {
    return this.exclusive(() => new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve()))));
  }
}

/**
 * A UNIQUE or PRIMARY KEY violation. node-sqlite3 gives only the primary code SQLITE_CONSTRAINT
 * (no extended result code), so the kind of constraint is read from SQLite's own message: the
 * one place anything branches on error text, and the text is SQLite's, not ours.
 */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === 'SQLITE_CONSTRAINT' && /UNIQUE|PRIMARY KEY/.test(String((err as Error).message));
}

/**
 * Creates the database file (when missing) with mode 0600 before SQLite opens it, and narrows an
 * existing one and its side files to 0600. ':memory:' and '' (temporary) databases have no file.
 */
function makePrivate(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  if (!existsSync(path)) closeSync(openSync(path, 'a', DB_FILE_MODE));
  for (const file of [path, ...SIDE_FILES.map((s) => path + s)]) {
    try {
      chmodSync(file, DB_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
