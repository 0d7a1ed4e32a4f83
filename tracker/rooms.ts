// Rooms on the tracker: each room's signed log, and the state computed from it. The tracker is a
// first gate (it checks signatures, `prev`, rights and the private-room check value before
// storing), but clients check everything again; ownership is computed from the log.

import bcrypt from 'bcrypt';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeRoomName } from '../protocol/names.ts';
import { applyRoomEvent, roomEventSchema, type RoomEvent, type RoomState } from '../protocol/room-log.ts';
import { ROOM_LOG_PAGE, type RoomSummary } from '../protocol/tracker.ts';
import type { Accounts } from './accounts.ts';
import type { Database } from './db.ts';

export interface Appended {
  state: RoomState;
  event: RoomEvent;
  /** Who should hear about it: members after the event, plus whoever it removed. */
  audience: Set<string>;
}

/** bcrypt cost of a private room's check value: it is a 32-byte random-looking key, not a password. */
const CHECK_COST = 10;

export class Rooms {
  private readonly states = new Map<string, RoomState>();
  private readonly checkHashes = new Map<string, string>();
  /** Appends to one room run one at a time, so `prev` checks and inserts cannot interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * The one SQLite connection has one transaction at a time: a second BEGIN while another room's
   * transaction is open fails, and its ROLLBACK would undo the other's. Room writes queue here.
   */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly accounts: Accounts,
    private readonly isOnline: (user: string) => boolean,
  ) {}

  /**
   * Rebuilds every room's state from its stored log. Closed rooms are kept (unlisted), so an
   * append to one is answered room.closed and its log, close event included, can still be read.
   */
  async load(): Promise<void> {
    const rooms = await this.db.all<{ id: string; check_hash: string | null }>('SELECT id, check_hash FROM rooms');
    for (const { id, check_hash } of rooms) {
      const rows = await this.db.all<{ body: string }>('SELECT body FROM room_events WHERE room = ? ORDER BY seq', id);
      let state: RoomState | null = null;
      for (const { body } of rows) {
        state = applyRoomEvent(state, roomEventSchema.parse(JSON.parse(body)), { signingKey: () => undefined, signaturesChecked: true });
      }
      if (state) this.states.set(id, state);
      if (check_hash && state && !state.closed) this.checkHashes.set(id, check_hash);
    }
  }

  async create(user: string, event: RoomEvent, check: string | undefined): Promise<Appended> {
    if (event.type !== 'create') throw new ProtocolError('room.invalid_event', 'create_room takes a create event');
    this.requireActor(user, event);
    if (event.name !== normalizeRoomName(event.name ?? '')) throw new ProtocolError('request.invalid', 'the room name must be lowercase');
    if (event.private && !check) throw new ProtocolError('request.invalid', 'a private room needs its password check value');
    const state = applyRoomEvent(null, event, await this.contextFor(event));
    if (this.byName(state.name)) throw new ProtocolError('room.name_taken', `a room named ${state.name} already exists; join it or pick another name`);
    const checkHash = event.private ? await bcrypt.hash(check!, CHECK_COST) : null;
    return this.write(async () => {
      // Checked again in the write queue: another create of this name may have won meanwhile.
      if (this.byName(state.name) || this.states.has(state.id)) {
        throw new ProtocolError('room.name_taken', `a room named ${state.name} already exists; join it or pick another name`);
      }
      try {
        await this.db.transaction(async (tx) => {
          await tx.run('INSERT INTO rooms (id, name, check_hash, closed, created) VALUES (?, ?, ?, 0, ?)', state.id, state.name, checkHash, event.time);
          await tx.run('INSERT INTO room_events (room, seq, body) VALUES (?, 0, ?)', state.id, JSON.stringify(event));
        });
      } catch (err) {
        if (/UNIQUE|PRIMARY KEY/.test(String(err))) throw new ProtocolError('room.name_taken', `a room named ${state.name} already exists; join it or pick another name`);
        throw err;
      }
      this.states.set(state.id, state);
      if (checkHash) this.checkHashes.set(state.id, checkHash);
      return { state, event, audience: new Set([user]) };
    });
  }

  append(user: string, event: RoomEvent, check: string | undefined): Promise<Appended> {
    // Before the room look-up: a create carries no room id, and "not found" would mislead.
    if (event.type === 'create') return Promise.reject(new ProtocolError('room.invalid_event', 'a room has one create event; use create_room'));
    const run = (this.locks.get(event.room) ?? Promise.resolve()).then(() => this.appendNow(user, event, check));
    const tail = run.catch(() => {});
    this.locks.set(event.room, tail);
    void tail.then(() => {
      if (this.locks.get(event.room) === tail) this.locks.delete(event.room);
    });
    return run;
  }

  private async appendNow(user: string, event: RoomEvent, check: string | undefined): Promise<Appended> {
    const before = this.states.get(event.room);
    if (!before) throw new ProtocolError('room.not_found', 'no such room; list the rooms to see what exists');
    if (before.closed) throw new ProtocolError('room.closed', `room ${before.name} is closed`);
    this.requireActor(user, event);
    const state = applyRoomEvent(before, event, await this.contextFor(event));
    if (event.type === 'join' && before.private) {
      const hash = this.checkHashes.get(before.id);
      if (!check || !hash || !(await bcrypt.compare(check, hash))) {
        throw new ProtocolError('room.bad_password', `wrong password for room ${before.name}`);
      }
      // The bcrypt compare awaited: another append may have moved the head meanwhile. The lock
      // prevents that, but re-check rather than trust it.
      if (this.states.get(event.room) !== before) throw new ProtocolError('room.stale_head', 'the room changed; try again');
    }
    await this.write(() =>
      this.db.transaction(async (tx) => {
        await tx.run('INSERT INTO room_events (room, seq, body) VALUES (?, ?, ?)', event.room, event.seq, JSON.stringify(event));
        if (state.closed) await tx.run('UPDATE rooms SET closed = 1 WHERE id = ?', event.room);
      }),
    );
    this.states.set(event.room, state);
    if (state.closed) this.checkHashes.delete(event.room);
    const audience = new Set([...state.members.keys(), ...before.members.keys()]);
    return { state, event, audience };
  }

  async log(id: string, from: number): Promise<{ state: RoomState; events: RoomEvent[] }> {
    const state = this.states.get(id);
    if (!state) throw new ProtocolError('room.not_found', 'no such room; list the rooms to see what exists');
    const rows = await this.db.all<{ body: string }>('SELECT body FROM room_events WHERE room = ? AND seq >= ? ORDER BY seq LIMIT ?', id, from, ROOM_LOG_PAGE);
    return { state, events: rows.map((r) => JSON.parse(r.body) as RoomEvent) };
  }

  /** The open rooms. */
  list(): RoomState[] {
    return [...this.states.values()].filter((s) => !s.closed);
  }

  roomsOf(user: string): RoomState[] {
    return this.list().filter((s) => s.members.has(user));
  }

  byName(name: string): RoomState | undefined {
    return this.list().find((s) => s.name === name);
  }

  summary(state: RoomState, viewer: string): RoomSummary {
    let online = 0;
    for (const m of state.members.keys()) if (this.isOnline(m)) online++;
    return {
      id: state.id,
      name: state.name,
      private: state.private,
      ...(state.owner ? { owner: state.owner } : {}),
      members: state.members.size,
      online,
      closed: state.closed,
      head: state.head,
      member: state.members.has(viewer),
    };
  }

  /** Admin: removes a room and its log. */
  async delete(name: string): Promise<boolean> {
    const room = await this.db.get<{ id: string }>('SELECT id FROM rooms WHERE name = ? AND closed = 0', name);
    if (!room) return false;
    await this.db.run('DELETE FROM rooms WHERE id = ?', room.id);
    this.states.delete(room.id);
    return true;
  }

  /** Runs `fn` after every room write queued before it (see `writes`). */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => {});
    return run;
  }

  private requireActor(user: string, event: RoomEvent): void {
    if (event.actor !== user) throw new ProtocolError('room.invalid_event', 'you can only append events you signed yourself');
  }

  private async contextFor(event: RoomEvent) {
    const keys = await this.accounts.keysOf(event.actor);
    return { signingKey: () => keys?.signingKey };
  }
}

