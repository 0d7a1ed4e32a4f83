// The sidebar's people (everyone on the tracker, online or not, verified or not), a
// conversation's members, and the room directory, as the extension host holds them for the view (extension/chat-model.ts posts them).

import type { ChatEngine } from '../peer/engine.ts';
import type { RoomSummary } from '../protocol/tracker.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { DirectoryRoom, HostToView, MemberItem, PersonItem } from '../protocol/view.ts';
import { codeOf, errorText } from './model-events.ts';

export class PeopleList {
  /** By user name (a Map: names come from the tracker). */
  private readonly people = new Map<string, PersonItem>();
  directory: DirectoryRoom[] = [];

  constructor(private readonly post: (m: HostToView) => void) {}

  get(user: string): PersonItem | undefined {
    return this.people.get(user);
  }

  list(): PersonItem[] {
    return [...this.people.values()];
  }

  clear(): void {
    this.people.clear();
    this.directory = [];
  }

  /** Everyone on the tracker but me, from the engine (a failure is a notice: the list stays as it was). */
  async refresh(engine: ChatEngine): Promise<void> {
    if (!engine.user) return;
    let peers;
    try {
      peers = await engine.listPeers();
    } catch (err) {
      this.post({ type: 'notice/shown', message: `Could not load the people on the tracker: ${errorText(err)}`, ...codeOf(err) });
      return;
    }
    for (const p of peers) {
      if (p.user === engine.user) continue;
      this.people.set(p.user, { user: p.user, online: p.online, verified: p.verified, keyChanged: this.people.get(p.user)?.keyChanged ?? false });
    }
    this.postPeople();
  }

  /** The members of conversation `key` (a direct one's two people, as known here). */
  members(engine: ChatEngine, key: ConversationId): MemberItem[] {
    const me = engine.user;
    if (isDmRoom(key)) {
      return key.split(':').slice(1).map((user) => ({ user, owner: false, verified: this.people.get(user)?.verified ?? user === me, online: user === me || (this.people.get(user)?.online ?? false) }));
    }
    // A room this session does not hold (left a moment ago, or a stale key from a reload) has none.
    if (!engine.joinedRooms().some((r) => r.id === key)) return [];
    try {
      return engine.members(key);
    } catch (err) {
      this.post({ type: 'notice/shown', message: `Could not list the room's members: ${errorText(err)}`, ...codeOf(err) });
      return [];
    }
  }

  /** Changes what is known of `user` (never me: `me`) and posts the list. */
  set(user: string, patch: Partial<PersonItem>, me: string | undefined): void {
    if (user === me) return;
    const before = this.people.get(user) ?? { user, online: false, verified: false, keyChanged: false };
    this.people.set(user, { ...before, ...patch });
    this.postPeople();
  }

  /** The directory as the view lists it: open rooms only (`post` it when it changed live). */
  setDirectory(rooms: RoomSummary[], post: boolean): void {
    this.directory = rooms.filter((r) => !r.closed).map((r) => ({ id: r.id, name: r.name, private: r.private, members: r.members, online: r.online, member: r.member }));
    if (post) this.post({ type: 'directory/changed', directory: this.directory });
  }

  private postPeople(): void {
    this.post({ type: 'people/changed', people: this.list() });
  }
}
