// Rooms on the tracker: each room's signed log, and the state computed from it. The tracker is a
// first gate (it checks signatures, `prev`, rights and the private-room check value before
// storing), but clients check everything again; ownership is computed from the log. Lists are
// answered a page at a time (sorted by name), and what one user can make is bounded: open rooms
// created and rooms joined (quota.exceeded), and look-alike room names are refused.

import bcrypt from 'bcrypt';
import { ProtocolError } from '../protocol/errors.ts';
import { checkNewRoomName, nameSkeleton } from '../protocol/names.ts';
import { applyRoomEvent, roomEventSchema, type RoomEvent, type RoomState } from '../protocol/room-log.ts';
import { LIST_PAGE_SIZE, MAX_ROOMS_CREATED_PER_USER, MAX_ROOMS_JOINED_PER_USER, ROOM_EVENTS_PER_USER_MINUTE, type RoomSummary } from '../protocol/tracker.ts';
import type { Accounts } from './accounts.ts';
import { isUniqueViolation, type Database } from './db.ts';
import { FailureLimiter } from './rate-limit.ts';

export interface Appended {
  state: RoomState;
  event: RoomEvent;
  /** Who should hear about it: members after the event, plus whoever it removed. */
  audience: Set<string>;
}

/** bcrypt cost of a private room's check value: it is a 32-byte random-looking key, not a password. */
const CHECK_COST = 10;

export interface RoomLimits {
  /** Open rooms one user may have created. */
  maxRoomsPerUser: number;
  /** Rooms one user may be a member of. */
  maxJoinsPerUser: number;
  /** Events (create included) one user may add per minute, as a burst and its refill. */
  eventsPerUserMinute: number;
  /** Joins one user may make to one room per day; leaving is always allowed, so join+leave is bounded too. */
  joinsPerDay: number;
  /** Events a room's log may hold; past it only leave, kick and close (which cannot churn) are accepted. */
  maxLog: number;
}

/** Events a full log still accepts: each is bounded by the members there are (and close ends it). */
const ALWAYS_ACCEPTED = new Set(['leave', 'kick', 'close']);

/** One page of a list: `next` (the last name here) when more entries follow. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** The entries of `sorted` (ascending by `key`) after `after` that pass `keep`: at most `limit`. */
export function pageOf<T>(sorted: readonly T[], key: (item: T) => string, opts: { after?: string; limit: number; keep?: (item: T) => boolean }): Page<T> {
  let lo = 0;
  let hi = sorted.length;
  if (opts.after !== undefined) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(sorted[mid]) <= opts.after) lo = mid + 1;
      else hi = mid;
    }
  }
  const items: T[] = [];
  for (let i = lo; i < sorted.length; i++) {
    if (opts.keep && !opts.keep(sorted[i])) continue;
    if (items.length === opts.limit) return { items, next: key(items[items.length - 1]) };
    items.push(sorted[i]);
  }
  return { items };
}

const nameTaken = (name: string) => new ProtocolError('room.name_taken', `a room named ${name} already exists; join it or pick another name`);

export class Rooms {
  private readonly states = new Map<string, RoomState>();
  private readonly checkHashes = new Map<string, string>();
  /** Open rooms by name, by confusable skeleton (names from before the rule may share one), by creator. */
  private readonly openByName = new Map<string, RoomState>();
  private readonly openBySkeleton = new Map<string, Set<string>>();
  private readonly creators = new Map<string, string>();
  private readonly createdBy = new Map<string, number>();
  /** The open rooms' names, sorted, for pages; rebuilt after a room opens or closes. */
  private sortedNames: string[] | null = null;
  private readonly limits: RoomLimits;
  /** Every stored event is kept forever: a member churning join/leave is slowed to this rate. */
  private readonly eventRate: FailureLimiter;
  /** Joins per (user, room), refilled over a day: join/leave churn cannot grow a log without end. */
  private readonly joinRate: FailureLimiter;
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
    limits: Partial<RoomLimits> = {},
  ) {
    this.limits = {
      maxRoomsPerUser: limits.maxRoomsPerUser ?? MAX_ROOMS_CREATED_PER_USER,
      maxJoinsPerUser: limits.maxJoinsPerUser ?? MAX_ROOMS_JOINED_PER_USER,
      eventsPerUserMinute: limits.eventsPerUserMinute ?? ROOM_EVENTS_PER_USER_MINUTE,
      joinsPerDay: limits.joinsPerDay ?? 20,
      maxLog: limits.maxLog ?? 10_000,
    };
    this.joinRate = new FailureLimiter(this.limits.joinsPerDay, 86_400_000 / this.limits.joinsPerDay);
    this.eventRate = new FailureLimiter(this.limits.eventsPerUserMinute, 60_000 / this.limits.eventsPerUserMinute);
  }

  /**
   * Rebuilds every room's state from its stored log. Closed rooms are kept (unlisted), so an
   * append to one is answered room.closed and its log, close event included, can still be read.
   */
  async load(): Promise<void> {
    const rooms = await this.db.all<{ id: string; check_hash: string | null }>('SELECT id, check_hash FROM rooms');
    for (const { id, check_hash } of rooms) {
      const rows = await this.db.all<{ body: string; received: number | null }>('SELECT body, received FROM room_events WHERE room = ? ORDER BY seq', id);
      let state: RoomState | null = null;
      let creator = '';
      const dayAgo = Date.now() - 86_400_000;
      for (const { body, received } of rows) {
        const event = roomEventSchema.parse(JSON.parse(body));
        if (event.type === 'create') creator = event.actor;
        // Joins stored within the last day count against the day's allowance again.
        if (event.type === 'join' && received !== null && received > dayAgo) this.joinRate.fail(`${event.actor}\0${id}`);
        state = applyRoomEvent(state, event, { signingKey: () => undefined, signaturesChecked: true });
      }
      if (state) {
        this.states.set(id, state);
        if (!state.closed) this.opened(state, creator);
      }
      if (check_hash && state && !state.closed) this.checkHashes.set(id, check_hash);
    }
  }

  async create(user: string, event: RoomEvent, check: string | undefined): Promise<Appended> {
    if (event.type !== 'create') throw new ProtocolError('room.invalid_event', 'create_room takes a create event');
    this.requireActor(user, event);
    this.takeEventSlot(user);
    if (event.name !== checkNewRoomName(event.name ?? '')) throw new ProtocolError('request.invalid', 'the room name must be lowercase');
    if (event.private && !check) throw new ProtocolError('request.invalid', 'a private room needs its password check value');
    const skeleton = nameSkeleton(event.name);
    // Before any costly work: the quota, and a name that is taken or looks like a taken one.
    this.checkCreate(user, event.name, skeleton);
    const state = applyRoomEvent(null, event, await this.contextFor(event));
    const checkHash = event.private ? await bcrypt.hash(check!, CHECK_COST) : null;
    return this.write(async () => {
      // Checked again in the write queue: another create may have won meanwhile.
      this.checkCreate(user, state.name, skeleton);
      if (this.states.has(state.id)) throw nameTaken(state.name);
      try {
        await this.db.transaction(async (tx) => {
          await tx.run('INSERT INTO rooms (id, name, check_hash, closed, created, skeleton) VALUES (?, ?, ?, 0, ?, ?)', state.id, state.name, checkHash, event.time, skeleton);
          await tx.run('INSERT INTO room_events (room, seq, body, received) VALUES (?, 0, ?, ?)', state.id, JSON.stringify(event), Date.now());
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken(state.name);
        throw err;
      }
      this.states.set(state.id, state);
      this.opened(state, user);
      if (checkHash) this.checkHashes.set(state.id, checkHash);
      return { state, event, audience: new Set([user]) };
    });
  }

  append(user: string, event: RoomEvent, check: string | undefined): Promise<Appended> {
    // Before the room look-up: a create carries no room id, and "not found" would mislead.
    if (event.type === 'create') return Promise.reject(new ProtocolError('room.invalid_event', 'a room has one create event; use create_room'));
    try {
      this.takeEventSlot(user);
    } catch (err) {
      return Promise.reject(err);
    }
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
    if (before.head.seq + 1 >= this.limits.maxLog && !ALWAYS_ACCEPTED.has(event.type)) {
      throw new ProtocolError(
        'quota.exceeded',
        `room ${before.name} has ${before.head.seq + 1} events in its log, the most this tracker keeps (${this.limits.maxLog}); members can still leave. ` +
          'Create a new room to go on, or ask the tracker admin',
      );
    }
    const joinKey = `${user}\0${event.room}`;
    if (event.type === 'join') {
      this.checkJoin(user);
      const wait = this.joinRate.retryAfter(joinKey);
      if (wait > 0) {
        throw new ProtocolError(
          'rate_limited',
          `you joined room ${before.name} ${this.limits.joinsPerDay} times within a day, the most this tracker allows; try again in ${Math.ceil(wait / 60_000)} min`,
          wait,
        );
      }
    }
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
        await tx.run('INSERT INTO room_events (room, seq, body, received) VALUES (?, ?, ?, ?)', event.room, event.seq, JSON.stringify(event), Date.now());
        if (state.closed) await tx.run('UPDATE rooms SET closed = 1 WHERE id = ?', event.room);
      }),
    );
    this.states.set(event.room, state);
    // Charged when stored: a refused join costs nothing of the day's allowance.
    if (event.type === 'join') this.joinRate.fail(joinKey);
    if (state.closed) {
      this.checkHashes.delete(event.room);
      this.closedOrDeleted(before);
    } else if (this.openByName.get(state.name) === before) {
      this.openByName.set(state.name, state);
    }
    const audience = new Set([...state.members.keys(), ...before.members.keys()]);
    return { state, event, audience };
  }

  /**
   * At most `limit` events of the room's log from seq `from`; `next` is the seq to ask from when
   * the log goes on.
   */
  async log(id: string, from: number, limit = LIST_PAGE_SIZE): Promise<{ state: RoomState; events: RoomEvent[]; next?: number }> {
    const state = this.states.get(id);
    if (!state) throw new ProtocolError('room.not_found', 'no such room; list the rooms to see what exists');
    const rows = await this.db.all<{ body: string }>('SELECT body FROM room_events WHERE room = ? AND seq >= ? ORDER BY seq LIMIT ?', id, from, limit + 1);
    const events = rows.slice(0, limit).map((r) => JSON.parse(r.body) as RoomEvent);
    return rows.length > limit ? { state, events, next: events[events.length - 1].seq + 1 } : { state, events };
  }

  /** The open rooms, sorted by name. */
  list(): RoomState[] {
    return this.names().map((n) => this.openByName.get(n)!);
  }

  private names(): string[] {
    return (this.sortedNames ??= [...this.openByName.keys()].sort());
  }

  /**
   * A page of the open rooms by name, after `after`: only `viewer`'s own with `mine`, only the one
   * called `name` with `name`.
   */
  page(opts: { after?: string; limit: number; viewer: string; mine?: boolean; name?: string }): Page<RoomState> {
    if (opts.name !== undefined) {
      const room = this.openByName.get(opts.name);
      return { items: room && (!opts.mine || room.members.has(opts.viewer)) ? [room] : [] };
    }
    const keep = opts.mine ? (n: string) => this.openByName.get(n)!.members.has(opts.viewer) : undefined;
    const { items, next } = pageOf(this.names(), (n) => n, { limit: opts.limit, ...(opts.after !== undefined ? { after: opts.after } : {}), ...(keep ? { keep } : {}) });
    return { items: items.map((n) => this.openByName.get(n)!), ...(next !== undefined ? { next } : {}) };
  }

  /** A room's current state by id (closed rooms too), for checks such as the mailbox's members. */
  byId(id: string): RoomState | undefined {
    return this.states.get(id);
  }

  byName(name: string): RoomState | undefined {
    return this.openByName.get(name);
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
    const state = this.states.get(room.id);
    if (state && !state.closed) this.closedOrDeleted(state);
    this.states.delete(room.id);
    return true;
  }

  /** One event of `user`'s per-minute allowance, or rate_limited (every attempt counts, refused or not). */
  private takeEventSlot(user: string): void {
    const wait = this.eventRate.retryAfter(user);
    if (wait > 0) {
      throw new ProtocolError('rate_limited', `you changed rooms more than ${this.limits.eventsPerUserMinute} times in a minute; try again in ${Math.ceil(wait / 1000)} s`, wait);
    }
    this.eventRate.fail(user);
  }

  /** Quota and name checks of a create by `user` (room.name_taken, quota.exceeded). */
  private checkCreate(user: string, name: string, skeleton: string): void {
    if (this.openByName.has(name)) throw nameTaken(name);
    const alike = this.openBySkeleton.get(skeleton);
    if (alike?.size) {
      const other = this.states.get(alike.values().next().value!)!.name;
      throw new ProtocolError('room.name_taken', `the name ${name} looks too much like the existing room ${other}; join it or pick a name that does not`);
    }
    const created = this.createdBy.get(user) ?? 0;
    if (created >= this.limits.maxRoomsPerUser) {
      throw new ProtocolError(
        'quota.exceeded',
        `you have created ${created} open rooms, the most this tracker allows (${this.limits.maxRoomsPerUser}); close one you own before creating another`,
      );
    }
    this.checkJoin(user);
  }

  /** A user in as many rooms as allowed may not join (or create) another (quota.exceeded). */
  private checkJoin(user: string): void {
    let joined = 0;
    for (const s of this.openByName.values()) if (s.members.has(user)) joined++;
    if (joined >= this.limits.maxJoinsPerUser) {
      throw new ProtocolError('quota.exceeded', `you are in ${joined} rooms, the most this tracker allows (${this.limits.maxJoinsPerUser}); leave one before joining another`);
    }
  }

  private opened(state: RoomState, creator: string): void {
    this.openByName.set(state.name, state);
    const skeleton = nameSkeleton(state.name);
    const ids = this.openBySkeleton.get(skeleton) ?? new Set<string>();
    ids.add(state.id);
    this.openBySkeleton.set(skeleton, ids);
    this.creators.set(state.id, creator);
    this.createdBy.set(creator, (this.createdBy.get(creator) ?? 0) + 1);
    this.sortedNames = null;
  }

  private closedOrDeleted(state: RoomState): void {
    if (this.openByName.get(state.name)?.id === state.id) this.openByName.delete(state.name);
    const skeleton = nameSkeleton(state.name);
    const ids = this.openBySkeleton.get(skeleton);
    ids?.delete(state.id);
    if (ids && !ids.size) this.openBySkeleton.delete(skeleton);
    const creator = this.creators.get(state.id);
    if (creator !== undefined) {
      this.creators.delete(state.id);
      const left = (this.createdBy.get(creator) ?? 1) - 1;
      if (left > 0) this.createdBy.set(creator, left);
      else this.createdBy.delete(creator);
    }
    this.sortedNames = null;
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

