// What a window attached to another window's engine (extension/window-link.ts) knows of the chat:
// the holder's posts, mirrored for its status item, badge and commands (attached-commands.ts). No
// VS Code here, so it is tested without it.

import type { ConversationId } from '../protocol/peer.ts';
import type { HostToView, MemberItem, PersonItem, RoomItem, SessionView } from '../protocol/view.ts';
import { nextUnreadIn } from './conversation-list.ts';

/** What the holder last said, as this window needs it. */
export class ChatMirror {
  session?: SessionView;
  rooms: RoomItem[] = [];
  people: PersonItem[] = [];
  openKey?: ConversationId;
  members: MemberItem[] = [];

  apply(m: HostToView): void {
    switch (m.type) {
      case 'host/snapshot':
        this.session = m.snapshot.session;
        this.rooms = m.snapshot.rooms;
        this.people = m.snapshot.people;
        this.openKey = m.snapshot.open?.key;
        this.members = m.snapshot.open?.members ?? [];
        return;
      case 'session/changed':
        this.session = m.session;
        return;
      case 'rooms/changed':
        this.rooms = m.rooms;
        return;
      case 'people/changed':
        this.people = m.people;
        return;
      case 'conversation/opened':
        this.openKey = m.key;
        this.members = m.members;
        return;
      case 'members/changed':
        if (m.key === this.openKey) this.members = m.members;
        return;
      default:
        return;
    }
  }

  get loggedIn(): boolean {
    return Boolean(this.session?.user) && this.session?.state !== 'logged_out';
  }

  totalUnread(): number {
    return this.rooms.reduce((n, r) => n + r.unread, 0);
  }

  /** The next conversation with unread messages after the open one, in the sidebar's order (as the holder's ChatModel.nextUnread). */
  nextUnread(): ConversationId | undefined {
    return nextUnreadIn(this.rooms, this.openKey);
  }
}
