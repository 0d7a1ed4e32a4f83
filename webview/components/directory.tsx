// Rooms on the tracker I am not in, with a Join button. A private room asks for its password
// inline, in the list, rather than in a modal.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { DirectoryRoom } from '../../protocol/view.ts';
import { actions, model } from '../state.ts';
import { Icon, IconButton } from './icon.tsx';
import { Section } from './section.tsx';
import { visible } from '../../protocol/text.ts';

function JoinForm({ room, onDone }: { room: DirectoryRoom; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const id = `join-${room.name}`;
  return (
    <form
      class="join-form"
      onSubmit={(e) => {
        e.preventDefault();
        actions.joinRoom(room.name, password);
        onDone();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onDone();
        }
      }}
    >
      <label for={id} class="sr-only">
        Password for {visible(room.name)}
      </label>
      <input id={id} ref={input} type="password" placeholder="Room password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      <button type="submit" class="primary small">
        Join
      </button>
      <button type="button" class="secondary small" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

export function Directory() {
  const rooms = model.directory.value.filter((r) => !r.member);
  const [asking, setAsking] = useState<string | undefined>();
  return (
    <Section
      id="directory"
      title="Directory"
      count={rooms.length}
      actions={<IconButton icon="add" label="Create Room" onClick={() => actions.runCommand('p2pChat.createRoom')} />}
    >
      {rooms.length ? (
        <ul class="list" aria-label="Rooms you can join">
          {rooms.map((r) => (
            <li key={r.name} class="directory-room" data-room={r.name}>
              <div class="directory-row">
                <Icon name={r.private ? 'lock' : 'comment-discussion'} />
                <span class="item-title">{visible(r.name)}</span>
                {r.private && <span class="sr-only">private</span>}
                <span class="muted meta">
                  {r.members} {r.members === 1 ? 'member' : 'members'}, {r.online} online
                </span>
                {asking !== r.name && (
                  <button
                    type="button"
                    class="secondary small"
                    aria-label={`Join ${visible(r.name)}${r.private ? ' (asks for its password)' : ''}`}
                    onClick={() => (r.private ? setAsking(r.name) : actions.joinRoom(r.name))}
                  >
                    Join
                  </button>
                )}
              </div>
              {asking === r.name && <JoinForm room={r} onDone={() => setAsking(undefined)} />}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty muted">No other rooms to join.</p>
      )}
    </Section>
  );
}
