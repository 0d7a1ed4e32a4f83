// The conversations I am in: rooms, then direct conversations. Each shows unread and mention
// counts, a lock for private rooms and a warning when the room's history forked.

import type { RoomItem } from '../../protocol/view.ts';
import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Icon, IconButton } from './icon.tsx';
import { Section } from './section.tsx';
import { visible } from '../../protocol/text.ts';

function describe(room: RoomItem, online: boolean | undefined): string {
  const parts = [room.direct ? `Direct conversation with ${visible(room.title)}` : `Room ${visible(room.title)}`];
  if (online !== undefined) parts.push(online ? 'online' : 'offline');
  if (!room.direct && room.private) parts.push('private');
  if (room.unread) parts.push(`${room.unread} unread`);
  if (room.mentions) parts.push(`${room.mentions} ${room.mentions === 1 ? 'mention' : 'mentions'}`);
  if (room.forked) parts.push('history conflict');
  return parts.join(', ');
}

function ConversationItem({ room, current, online }: { room: RoomItem; current: boolean; online?: boolean }) {
  const icon = room.direct ? 'person' : room.private ? 'lock' : 'comment-discussion';
  return (
    <li>
      <button
        type="button"
        class={`list-item conversation${room.unread ? ' has-unread' : ''}`}
        aria-current={current ? 'true' : undefined}
        aria-label={describe(room, online)}
        data-key={room.key}
        onClick={() => actions.openConversation(room.key)}
      >
        <Icon name={icon} />
        {online !== undefined && <span class={`presence ${online ? 'online' : 'offline'}`} aria-hidden="true" />}
        <span class="item-title">{visible(room.title)}</span>
        {room.forked && <Icon name="warning" class="warning-icon" label="History conflict: some members see a different history" />}
        {room.mentions > 0 && (
          <span class="badge mention-badge" aria-hidden="true">
            @{room.mentions}
          </span>
        )}
        {room.unread > 0 && (
          <span class="badge unread-badge" aria-hidden="true">
            {room.unread}
          </span>
        )}
      </button>
    </li>
  );
}

export function Conversations() {
  const all = model.rooms.value;
  const openKey = model.openKey.value;
  const online = new Map(model.people.value.map((p) => [p.user, p.online]));
  const rooms = all.filter((r) => !r.direct);
  const direct = all.filter((r) => r.direct);
  return (
    <>
      <Section
        id="rooms"
        title="Rooms"
        count={rooms.length}
        actions={
          <>
            <IconButton icon="add" label="Create Room" onClick={() => actions.runCommand('p2pChat.createRoom')} />
            <IconButton icon="comment-discussion" label="Join Room" onClick={() => actions.runCommand('p2pChat.joinRoom')} />
          </>
        }
      >
        {rooms.length ? (
          <ul class="list" aria-label="Rooms">
            {rooms.map((r) => (
              <ConversationItem key={r.key} room={r} current={r.key === openKey} />
            ))}
          </ul>
        ) : (
          <p class="empty muted">No rooms yet. Create one, or join one from the directory.</p>
        )}
      </Section>
      <Section
        id="direct"
        title="Direct messages"
        count={direct.length}
        actions={<IconButton icon="mail" label="Direct Message" onClick={() => actions.runCommand('p2pChat.directMessage')} />}
      >
        {direct.length ? (
          <ul class="list" aria-label="Direct messages">
            {direct.map((r) => (
              <ConversationItem key={r.key} room={r} current={r.key === openKey} online={online.get(r.title) ?? false} />
            ))}
          </ul>
        ) : (
          <p class="empty muted">No direct conversations. Pick someone under People.</p>
        )}
      </Section>
    </>
  );
}
