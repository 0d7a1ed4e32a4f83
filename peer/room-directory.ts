// The room directory as the tracker last told it: list answers, the login/resume summary and the
// `room_listed`/`room_event` pushes, kept by room id. Read without a request (engine.directory());
// a change is announced at most once per turn of the event loop, however many pushes arrived.

import type { RoomSummary } from '../protocol/tracker.ts';

export class RoomDirectory {
  private readonly rooms = new Map<string, RoomSummary>();
  private announcing = false;
  /** Summaries pushed while a whole-directory fetch is under way (refresh). */
  private pushes?: RoomSummary[];

  /** `changed` receives the whole directory, sorted by name, once per turn that changed it. */
  constructor(private readonly changed: (rooms: RoomSummary[]) => void) {}

  /** Every room known, sorted by name then id. */
  list(): RoomSummary[] {
    return [...this.rooms.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
  }

  get(id: string): RoomSummary | undefined {
    return this.rooms.get(id);
  }

  /** The open room of that (normalized) name, if the tracker has told us of one. */
  byName(name: string): RoomSummary | undefined {
    for (const r of this.rooms.values()) if (r.name === name) return r;
    return undefined;
  }

  /** Stores summaries the tracker sent (a push or a page of a list answer); closed rooms leave. */
  update(rooms: Iterable<RoomSummary>): void {
    let changed = false;
    for (const r of rooms) {
      if (r.closed) {
        if (this.rooms.delete(r.id)) changed = true;
        continue;
      }
      if (same(this.rooms.get(r.id), r)) continue;
      this.rooms.set(r.id, r);
      changed = true;
    }
    if (changed) this.announce();
  }

  /** A complete list answer: rooms it does not name are gone (closed or deleted). */
  replace(rooms: RoomSummary[]): void {
    const ids = new Set(rooms.map((r) => r.id));
    let changed = false;
    for (const id of this.rooms.keys()) {
      if (ids.has(id)) continue;
      this.rooms.delete(id);
      changed = true;
    }
    if (changed) this.announce();
    this.update(rooms);
  }

  /**
   * After each sign-in and each resume: the whole directory (`fetch`, one paged `list_rooms`)
   * replaces the one kept, so rooms created, closed or deleted while we were away are seen; pushes
   * keep it current until the next connect. A push that arrived during the fetch and that the
   * answer does not cover (a room created behind the paging cursor, or closed after its page) is
   * kept. Resolves false when a later refresh superseded this one; throws what `fetch` throws.
   */
  async refresh(fetch: () => Promise<RoomSummary[]>): Promise<boolean> {
    const pushes: RoomSummary[] = [];
    this.pushes = pushes;
    try {
      const rooms = await fetch();
      if (this.pushes !== pushes) return false;
      const listed = new Set(rooms.map((r) => r.id));
      this.replace(rooms);
      this.update(pushes.filter((r) => r.closed || !listed.has(r.id)));
      return true;
    } finally {
      if (this.pushes === pushes) this.pushes = undefined;
    }
  }

  /** A summary the tracker pushed (room_event, room_listed). */
  pushed(room: RoomSummary): void {
    this.pushes?.push(room);
    this.update([room]);
  }

  /** A room closed or deleted. */
  remove(id: string): void {
    if (this.rooms.delete(id)) this.announce();
  }

  clear(): void {
    if (!this.rooms.size) return;
    this.rooms.clear();
    this.announce();
  }

  private announce(): void {
    if (this.announcing) return;
    this.announcing = true;
    queueMicrotask(() => {
      this.announcing = false;
      this.changed(this.list());
    });
  }
}

function same(a: RoomSummary | undefined, b: RoomSummary): boolean {
  if (!a) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
