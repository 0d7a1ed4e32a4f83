// The client's copy of each room's signed log (DESIGN.md "Rooms"). Every event is verified
// against pinned keys before it counts; for private rooms the join proof is checked with the
// password-derived key; ownership is computed from the log. A client that cannot check a proof
// (it never knew the password) refuses the event rather than trust the tracker.

import { ProtocolError } from '../protocol/errors.ts';
import { fromBase64Url, toBase64Url } from '../protocol/crypto.ts';
import { applyRoomEvent, checkJoinProof, eventHash, type RoomEvent, type RoomHead, type RoomState } from '../protocol/room-log.ts';
import type { KeyDirectory } from './key-directory.ts';
import type { RoomLogStore } from './room-log-store.ts';

export interface SavedRoom {
  /** The log: kept in the room's file (RoomLogStore), not in state.json. */
  events: RoomEvent[];
  /** base64url proof key of a private room (known from its password). */
  proofKey?: string;
  forked?: RoomFork;
  /** Where loadState found the events, and what was wrong with the file (never written). */
  file?: 'missing' | 'ok' | 'torn' | 'damaged' | 'state.json';
  damage?: string;
}

export interface RoomFork {
  seq: number;
  mine: string;
  theirs: string;
  /** Who showed us the other history. */
  from: string;
}

export interface RoomView {
  id: string;
  events: RoomEvent[];
  /** hashes[seq] = hash of events[seq], computed once when the event is applied. */
  hashes: string[];
  /** Membership at earlier heads that messages still refer to, by head hash (computed once). */
  earlier: Map<string, RoomState>;
  state: RoomState;
  proofKey?: Buffer;
  forked?: RoomFork;
}

/** Replaying our own saved, already verified events. */
const TRUSTED_REPLAY = { signingKey: () => undefined, signaturesChecked: true, checkProof: () => true };
const MAX_EARLIER_STATES = 16;

export class RoomBook {
  private readonly rooms = new Map<string, RoomView>();

  constructor(
    /** What is persisted, by room id: a Map, since ids come from the tracker and peers. */
    private readonly saved: Map<string, SavedRoom>,
    private readonly keys: KeyDirectory,
    /** Each room's log on disk: every applied event is appended, a forgotten room's file removed. */
    private readonly store: RoomLogStore,
    /** The index (`saved`: rooms, proof keys, forks) changed: state.json is to be written. Not called per event. */
    private readonly indexChanged: () => void = () => {},
  ) {}

  /**
   * Rebuilds state from the saved logs, re-verifying each chain. A log found in an older
   * state.json, or in a file with a torn last line, is written (again) to the room's file; a
   * damaged file is moved aside. Returns one Error per damaged file, naming it: those rooms, and
   * rooms whose file is missing, are listed by `unloaded()` to be fetched again.
   */
  async load(): Promise<Error[]> {
    const problems: Error[] = [];
    for (const [id, room] of this.saved) {
      const source = room.file;
      delete room.file;
      if (source === 'damaged') {
        problems.push(this.setAside(id, room, room.damage ?? 'damaged'));
        continue;
      }
      delete room.damage;
      // Every saved event was verified when it arrived, against the key pinned then; a key
      // accepted later must not make the old log fail, so signatures are not checked again. The
      // chain is: seq, prev hashes, the room id, and the log's rules.
      let state: RoomState | null = null;
      const hashes: string[] = [];
      const proofKey = room.proofKey ? fromBase64Url(room.proofKey) : undefined;
      try {
        for (const e of room.events) {
          state = applyRoomEvent(state, e, TRUSTED_REPLAY);
          hashes.push(state.head.hash);
        }
        if (state && state.id !== id) throw new Error('it holds another room');
      } catch (err) {
        problems.push(this.setAside(id, room, `${this.store.pathOf(id)} does not verify (${(err as Error).message})`));
        continue;
      }
      if (!state) continue;
      if (source === 'state.json' || source === 'torn') this.store.replace(id, room.events);
      this.rooms.set(id, { id, events: room.events, hashes, earlier: new Map(), state, ...(proofKey ? { proofKey } : {}), ...(room.forked ? { forked: room.forked } : {}) });
    }
    this.store.tidy(this.saved.keys());
    return problems;
  }

  /** Rooms in the index whose log is not held (its file was missing or damaged): to fetch again. */
  unloaded(): string[] {
    return [...this.saved.keys()].filter((id) => !this.rooms.has(id));
  }

  get(id: string): RoomView | undefined {
    return this.rooms.get(id);
  }

  byName(name: string): RoomView | undefined {
    for (const r of this.rooms.values()) if (r.state.name === name && !r.state.closed) return r;
    return undefined;
  }

  all(): RoomView[] {
    return [...this.rooms.values()];
  }

  /**
   * Verifies and applies events that continue the log (older or duplicate ones are skipped;
   * a different event at a seq we hold is a fork and throws). Returns the newly applied events
   * with the state after each.
   */
  async apply(events: RoomEvent[], proofKeyForNew?: Buffer): Promise<{ event: RoomEvent; before: RoomState | null; after: RoomState }[]> {
    if (!events.length) return [];
    await this.keys.ensure(events.map((e) => e.actor));
    const applied: { event: RoomEvent; before: RoomState | null; after: RoomState }[] = [];
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      const id = event.type === 'create' ? eventHash(event) : event.room;
      let room = this.rooms.get(id);
      if (room && event.seq <= room.state.head.seq) {
        if (room.hashes[event.seq] !== eventHash(event)) {
          throw new ProtocolError('room.forked', `two different events at seq ${event.seq} of room ${room.state.name}: the tracker showed different histories`);
        }
        continue;
      }
      // An event for a room we no longer hold (we left, were kicked, it closed): nothing to do.
      if (!room && event.type !== 'create') continue;
      // A room in the index whose file was lost is fetched again: its proof key and fork are kept.
      const index = room ? undefined : this.saved.get(id);
      const proofKey = room?.proofKey ?? proofKeyForNew ?? (index?.proofKey ? fromBase64Url(index.proofKey) : undefined);
      const before = room?.state ?? null;
      const after = applyRoomEvent(before, event, this.context(proofKey));
      if (!room) {
        room = { id, events: [], hashes: [], earlier: new Map(), state: after, ...(proofKey ? { proofKey } : {}), ...(index?.forked ? { forked: index.forked } : {}) };
        this.rooms.set(id, room);
        this.saved.set(id, { ...index, events: room.events, ...(proofKey ? { proofKey: toBase64Url(proofKey) } : {}) });
        this.indexChanged();
      }
      room.events.push(event);
      room.hashes.push(after.head.hash);
      room.state = after;
      // One line appended (written with the turn's others), whatever the log's length.
      this.store.append(id, [event]);
      applied.push({ event, before, after });
    }
    return applied;
  }

  markForked(id: string, fork: RoomFork): void {
    const room = this.rooms.get(id);
    if (!room) return;
    room.forked = fork;
    const saved = this.saved.get(id);
    if (saved) saved.forked = fork;
    this.indexChanged();
  }

  /** Membership at a given head: replays the verified prefix (logs are short). */
  stateAt(id: string, head: RoomHead): RoomState | undefined {
    const room = this.rooms.get(id);
    if (!room || room.hashes[head.seq] !== head.hash) return undefined;
    if (head.seq === room.state.head.seq) return room.state;
    // Messages keep referring to the head their session was made at: replay to it once.
    let state = room.earlier.get(head.hash);
    if (!state) {
      let replayed: RoomState | null = null;
      for (const e of room.events.slice(0, head.seq + 1)) replayed = applyRoomEvent(replayed, e, TRUSTED_REPLAY);
      state = replayed!;
      if (room.earlier.size >= MAX_EARLIER_STATES) room.earlier.delete(room.earlier.keys().next().value!);
      room.earlier.set(head.hash, state);
    }
    return state;
  }

  /** Hash of the event at `seq`, if we hold it. */
  hashAt(id: string, seq: number): string | undefined {
    return this.rooms.get(id)?.hashes[seq];
  }

  /** Forget a room we left or were removed from, keeping nothing that could be replayed. */
  forget(id: string): void {
    this.rooms.delete(id);
    this.saved.delete(id);
    this.store.remove(id);
    this.indexChanged();
  }

  /** Reports a damaged room file, moves it aside and clears the room's events (fetched again). */
  private setAside(id: string, room: SavedRoom, what: string): Error {
    const aside = this.store.quarantine(id);
    room.events = [];
    delete room.damage;
    return new Error(`${what}; moved it aside to ${aside} and fetching the room's log again`);
  }

  private context(proofKey: Buffer | undefined) {
    return {
      signingKey: (user: string) => this.keys.signingKey(user),
      checkProof: (event: RoomEvent) => (proofKey ? checkJoinProof(event, proofKey) : false),
    };
  }
}
