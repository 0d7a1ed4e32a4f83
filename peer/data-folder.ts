// The engine's data folder. At its root, what does not belong to one account: the pinned tracker
// fingerprints (SSH's known_hosts) and the cached salts per (tracker, user). In the account's
// folder: the session (resume token and private keys, mode 0600, like an SSH key without a
// passphrase) and the engine state: pinned identities and the room index in state.json, each
// room's verified log in rooms/ (peer/room-log-store.ts), received sender sessions in the journal.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PinnedUser } from './key-directory.ts';
import type { SavedRoom } from './room-book.ts';
import { readJson, removeStaleTemps, writeJson, writeJsonAsync, writeTextAtomic } from './json-file.ts';
import { NAME_PATTERN } from '../protocol/names.ts';
import { open, randomBytes, seal, toBase64Url } from '../protocol/crypto.ts';
import { InboundSessions } from './inbound-sessions.ts';
import { SessionJournal } from './session-journal.ts';
import { RoomLogStore } from './room-log-store.ts';
import { StoreDb } from './store-db.ts';
import { History } from './history.ts';
import { HeldEnvelopes } from './held-envelopes.ts';
import { OutboxStore } from './outbox.ts';
import { AT_REST_KEY_FILE, loadOrCreateAtRestKey } from './at-rest-key.ts';

/** Where the engine keeps the session of an account (token and private keys). */
export interface AccountStore {
  load(user?: string): Promise<SavedAccount | undefined>;
  save(account: SavedAccount): Promise<void>;
  forget(user: string): Promise<void>;
}

const STATE_AAD = Buffer.from('p2p-chat/v1/state-at-rest');

export interface SavedAccount {
  user: string;
  tracker: string;
  token: string;
  /** PKCS#8 DER, base64url. */
  signingKey: string;
  encryptionKey: string;
}

/**
 * Pins and rooms are Maps: their keys are user names and room ids from peers and the tracker, and
 * `__proto__` or `constructor` are valid names. On disk they are JSON objects (own keys, read with
 * Object.entries, written with Object.fromEntries), the format older versions wrote.
 */
export interface EngineState {
  pins: Map<string, PinnedUser>;
  /**
   * The rooms held, with their logs. state.json keeps only each room's proof key and fork (the
   * index); the events are in the room's file (roomLogs), read by loadState. An earlier version
   * kept the events in state.json: loadState reads them from there too (RoomBook.load moves them).
   */
  rooms: Map<string, SavedRoom>;
  /**
   * `${room} ${sender} ${session}` -> serialized inbound session. Received sessions live in the
   * journal (sessionJournal, peer/inbound-sessions.ts); loadState lists them here (null-prototype
   * object), with any an earlier version kept in state.json. The engine writes this empty.
   */
  inbound: Record<string, unknown>;
}

/** State writes are batched: at most one write per this interval, and one on close. */
const STATE_WRITE_DELAY_MS = 100;

export class DataFolder {
  private stateTimer?: NodeJS.Timeout;
  private pendingState?: { user: string; state: () => EngineState };
  private writing: Promise<void> = Promise.resolve();
  /** Each write's number, and the newest on disk: an older write never replaces a newer one. */
  private generation = 0;
  private onDisk = 0;
  /** The state a background write is putting on disk right now. */
  private inFlight?: { path: string; value: unknown; generation: number };
  /** Each account's room files (one store per account, so writes are queued in one place). */
  private readonly roomStores = new Map<string, RoomLogStore>();
  private device?: string;

  /** With `perUser`, each account gets its own subfolder (`~/.p2p-chat/<user>`). */
  /**
   * With `atRestKey`, the state file (it holds session keys) is sealed with AES-256-GCM under
   * it; VS Code keeps that key in SecretStorage. The terminal client relies on mode 0600.
   */
  constructor(
    readonly root: string,
    private readonly perUser: boolean,
    private readonly atRestKey?: Buffer,
  ) {
    // A crash in the middle of a write leaves its temp file behind: clear those of dead processes.
    removeStaleTemps(root);
  }

  /** The account store that keeps sessions in this folder (the terminal client's). */
  accountStore(): AccountStore {
    return {
      load: async (user) => {
        const account = user ? this.account(user) : this.lastAccount();
        return account && (!user || account.user === user) ? account : undefined;
      },
      save: async (account) => this.saveAccount(account),
      forget: async (user) => this.forgetAccount(user),
    };
  }

  /**
   * This data folder's device id (protocol/tracker.ts deviceIdSchema: 16 random bytes, base64url),
   * made on first use and kept in `device-id` (mode 0600). One engine runs on a folder at a time
   * (folder-lock.ts), so a device is one running engine. A damaged file is replaced: the device
   * then shows as a new one, which costs nothing but a catch-up.
   */
  deviceId(): string {
    if (this.device) return this.device;
    const path = join(this.root, 'device-id');
    let id: string | undefined;
    try {
      const text = readFileSync(path, 'utf8').trim();
      if (/^[A-Za-z0-9_-]{22}$/.test(text)) id = text;
    } catch {
      // none yet
    }
    if (!id) {
      id = toBase64Url(randomBytes(16));
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
      writeTextAtomic(path, id);
    }
    this.device = id;
    return id;
  }

  userDir(user: string): string {
    return this.perUser ? join(this.root, user) : this.root;
  }

  trackerPin(address: string): string | undefined {
    return readStringMap(join(this.root, 'known-trackers.json')).get(address);
  }

  setTrackerPin(address: string, fingerprint: string | undefined): void {
    const path = join(this.root, 'known-trackers.json');
    const pins = readStringMap(path);
    if (fingerprint) pins.set(address, fingerprint);
    else pins.delete(address);
    writeJson(path, Object.fromEntries(pins));
  }

  salt(address: string, user: string): string | undefined {
    return readStringMap(join(this.root, 'salts.json')).get(`${address}/${user}`);
  }

  setSalt(address: string, user: string, salt: string): void {
    const path = join(this.root, 'salts.json');
    const salts = readStringMap(path);
    salts.set(`${address}/${user}`, salt);
    writeJson(path, Object.fromEntries(salts));
  }

  /** The last account that logged in here (the terminal client resumes it without a password). */
  lastAccount(): SavedAccount | undefined {
    const last = readJson<{ user?: unknown }>(join(this.root, 'last-account.json'), {}).user;
    // The name becomes a folder name: only a valid user name (never `..` or a path).
    return typeof last === 'string' && NAME_PATTERN.test(last) ? this.account(last) : undefined;
  }

  account(user: string): SavedAccount | undefined {
    return readJson<SavedAccount | undefined>(join(this.userDir(user), 'account.json'), undefined);
  }

  saveAccount(account: SavedAccount): void {
    writeJson(join(this.userDir(account.user), 'account.json'), account);
    writeJson(join(this.root, 'last-account.json'), { user: account.user });
  }

  forgetAccount(user: string): void {
    rmSync(join(this.userDir(user), 'account.json'), { force: true });
    rmSync(join(this.root, 'last-account.json'), { force: true });
  }

  /**
   * The account's saved state (empty when there is none). Throws an Error naming the file when it
   * is damaged (not JSON, or pins or rooms of the wrong shape).
   */
  loadState(user: string): EngineState {
    removeStaleTemps(this.userDir(user));
    removeStaleTemps(join(this.userDir(user), 'history')); // the extension's history files
    const path = join(this.userDir(user), 'state.json');
    let state: Partial<Record<keyof EngineState, unknown>>;
    if (this.atRestKey) {
      const sealed = readJson<string | undefined>(path, undefined);
      state = sealed ? JSON.parse(open(this.atRestKey, Buffer.from(sealed, 'base64'), STATE_AAD).toString('utf8')) : {};
    } else {
      state = readJson<Partial<Record<keyof EngineState, unknown>>>(path, {});
    }
    const s = state as { inbound?: EngineState['inbound']; outbound?: unknown };
    const loaded: EngineState = {
      pins: entriesOf(state.pins, path, 'pins', isPin),
      rooms: this.loadRooms(user, entriesOf(state.rooms, path, 'rooms', isSavedRoom)),
      inbound: Object.assign(Object.create(null) as Record<string, unknown>, s.inbound ?? {}, InboundSessions.peek(this.sessionJournal(user))),
    };
    // `outbound` (my sender sessions' chain keys, which an earlier version wrote and never used
    // after a restart) is not read, and not left on disk until some later write: the file is
    // written again at once without it (otherwise unchanged).
    if (s.outbound !== undefined) {
      delete s.outbound;
      writeJson(path, this.atRestKey ? seal(this.atRestKey, Buffer.from(JSON.stringify(state)), STATE_AAD).toString('base64') : state);
    }
    return loaded;
  }

  /**
   * Each indexed room with its events: from its file, or, for a room an earlier version kept
   * whole in state.json, from there (unless the file already holds as much: moved before a
   * crash). `file` says which, and what was wrong with a file; it is never written.
   */
  private loadRooms(user: string, index: Map<string, SavedRoom>): Map<string, SavedRoom> {
    const store = this.roomLogs(user);
    for (const [id, room] of index) {
      const read = store.read(id);
      if (room.events?.length && read.events.length < room.events.length) {
        room.file = 'state.json';
      } else {
        room.events = read.events;
        room.file = read.status;
        if (read.error) room.damage = read.error;
      }
    }
    return index;
  }

  /** The account's room files (sealed with the at-rest key, if any). One store per account. */
  roomLogs(user: string): RoomLogStore {
    let store = this.roomStores.get(user);
    if (!store) {
      store = new RoomLogStore(join(this.userDir(user), 'rooms'), this.atRestKey);
      this.roomStores.set(user, store);
    }
    return store;
  }

  /** The journal of received sender sessions and replay records (sealed with the at-rest key, if any). */
  sessionJournal(user: string): SessionJournal {
    return new SessionJournal(join(this.userDir(user), 'sessions.jsonl'), this.atRestKey);
  }

  /**
   * Opens the account's message store, `store.db` in its folder (peer/store-db.ts), sealed under
   * this folder's at-rest key or, without one (the terminal client), the key in `at-rest.key`
   * beside it (peer/at-rest-key.ts). The caller closes `db`. Throws as StoreDb's constructor
   * does (busy, damaged, wrong key), or ProtocolError('server.store_damaged') naming a damaged
   * at-rest.key. One open store per file and process: close `db` before opening it again.
   */
  openStore(user: string): { db: StoreDb; history: History; held: HeldEnvelopes; outbox: OutboxStore } {
    const dir = this.userDir(user);
    const key = this.atRestKey ?? loadOrCreateAtRestKey(join(dir, AT_REST_KEY_FILE));
    const db = new StoreDb(join(dir, 'store.db'), key);
    return { db, history: new History(db), held: new HeldEnvelopes(db), outbox: new OutboxStore(db) };
  }

  /**
   * Schedules a write of the state, built by `state()` only when it is written: a burst of
   * messages costs one serialization and one write, not one per message. The write (with its
   * fsync) runs off the event loop; `flush` writes synchronously, for shutdown.
   */
  saveState(user: string, state: () => EngineState): void {
    this.pendingState = { user, state };
    this.stateTimer ??= setTimeout(() => {
      this.stateTimer = undefined;
      this.writing = this.writing.then(() => this.writeStateAsync()).catch(() => {});
    }, STATE_WRITE_DELAY_MS);
  }

  /** Waits for a write under way, then writes what is pending: on close, so nothing is lost. */
  async settle(): Promise<void> {
    clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
    await this.writing;
    this.flush();
  }

  /**
   * Writes any pending state now, synchronously. A background write still under way is written
   * again here: when flush returns, the newest state is on disk (a reader never sees the older one).
   */
  flush(): void {
    for (const store of this.roomStores.values()) store.flush();
    clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
    const pending = this.takePending() ?? this.inFlight;
    if (!pending || pending.generation <= this.onDisk) return;
    writeJson(pending.path, pending.value);
    this.onDisk = pending.generation;
  }

  private async writeStateAsync(): Promise<void> {
    const pending = this.takePending();
    if (!pending) return;
    this.inFlight = pending;
    try {
      await writeJsonAsync(pending.path, pending.value, () => {
        // A newer write, or flush() writing this same state, got there first.
        if (this.onDisk >= pending.generation) return false;
        this.onDisk = pending.generation;
        return true;
      });
    } finally {
      if (this.inFlight === pending) this.inFlight = undefined;
    }
  }

  private takePending(): { path: string; value: unknown; generation: number } | undefined {
    const pending = this.pendingState;
    this.pendingState = undefined;
    if (!pending) return undefined;
    const path = join(this.userDir(pending.user), 'state.json');
    const state = stateToJson(pending.state());
    const value = this.atRestKey ? seal(this.atRestKey, Buffer.from(JSON.stringify(state)), STATE_AAD).toString('base64') : state;
    return { path, value, generation: ++this.generation };
  }
}

/**
 * The state as JSON: Maps become objects with own keys (Object.fromEntries never sets a prototype).
 * Rooms are only their index: the events are in the room files, so a room event never rewrites this.
 */
function stateToJson(state: EngineState): Record<keyof EngineState, unknown> {
  const rooms = new Map<string, { proofKey?: string; forked?: SavedRoom['forked'] }>();
  for (const [id, r] of state.rooms) rooms.set(id, { ...(r.proofKey ? { proofKey: r.proofKey } : {}), ...(r.forked ? { forked: r.forked } : {}) });
  return { pins: Object.fromEntries(state.pins), rooms: Object.fromEntries(rooms), inbound: state.inbound };
}

/**
 * A JSON object of strings (known-trackers.json, salts.json) as a Map of its own keys. Anything
 * else is a damaged file and is said so: treating it as empty would silently trust a new tracker.
 */
function readStringMap(path: string): Map<string, string> {
  const value = readJson<unknown>(path, {});
  const entries = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value) : undefined;
  if (!entries || entries.some(([, v]) => typeof v !== 'string')) {
    throw new Error(`${path} is damaged (not an object of fingerprints or salts); move it aside to start that part afresh`);
  }
  return new Map(entries as [string, string][]);
}

/**
 * A saved object (own keys only) or a list of [key, value] pairs as a Map; a value of the wrong
 * shape means the file is damaged, and that is said rather than guessed around (a dropped pin
 * would silently trust the next key).
 */
function entriesOf<T>(value: unknown, path: string, field: string, valid: (key: string, v: unknown) => v is T): Map<string, T> {
  const out = new Map<string, T>();
  if (value === undefined) return out;
  const pairs: unknown[] = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.entries(value) : [undefined];
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || !valid(pair[0], pair[1])) {
      throw new Error(`${path} is damaged (its ${field} are not in the expected form); move it aside to start afresh (pins and rooms are then learned again)`);
    }
    out.set(pair[0], pair[1]);
  }
  return out;
}

function isPin(user: string, v: unknown): v is PinnedUser {
  const p = v as PinnedUser;
  return NAME_PATTERN.test(user) && typeof p === 'object' && p !== null && typeof p.fingerprint === 'string' && typeof p.verified === 'boolean' && typeof p.identity === 'object' && p.identity !== null;
}

function isSavedRoom(_id: string, v: unknown): v is SavedRoom {
  const r = v as SavedRoom;
  // `events` only in the format of earlier versions (the whole log in state.json).
  return typeof r === 'object' && r !== null && (r.events === undefined || Array.isArray(r.events)) && (r.proofKey === undefined || typeof r.proofKey === 'string');
}
