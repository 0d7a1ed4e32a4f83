// Rooms on the tracker I am not in, with a Join button, kept live by the host's pushes. A private
// room asks for its password inline, in the list, rather than in a modal. A join is a request: its
// row says "Joining…" until it completes, and a failure shows in that row, nowhere else.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { DirectoryRoom } from '../../protocol/view.ts';
import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Icon, IconButton } from './icon.tsx';
import { Section } from './section.tsx';
import { visible, visibleLines } from '../../protocol/text.ts';

function JoinForm({ room, onDone }: { room: DirectoryRoom; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const id = `join-${room.id}`;
  return (
    <form
      class="join-form"
      onSubmit={(e) => {
        e.preventDefault();
        actions.joinRoom(room.id, password);
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
  const joining = model.joining.value;
  const errors = model.joinErrors.value;
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
            <li key={r.id} class="directory-room" data-room={r.name}>
              <div class="directory-row">
                <Icon name={r.private ? 'lock' : 'comment-discussion'} />
                <span class="item-title">{visible(r.name)}</span>
                {r.private && <span class="sr-only">private</span>}
                <span class="muted meta">
                  {r.members} {r.members === 1 ? 'member' : 'members'}, {r.online} online
                </span>
                {joining.has(r.id) ? (
                  <span class="muted small" role="status">
                    Joining…
                  </span>
                ) : (
                  asking !== r.id && (
                    <button
                      type="button"
                      class="secondary small"
                      aria-label={`Join ${visible(r.name)}${r.private ? ' (asks for its password)' : ''}`}
                      onClick={() => (r.private ? setAsking(r.id) : actions.joinRoom(r.id))}
                    >
                      Join
                    </button>
                  )
                )}
              </div>
              {asking === r.id && <JoinForm room={r} onDone={() => setAsking(undefined)} />}
              {errors.has(r.id) && (
                <p class="field-error join-error" role="alert">
                  {visibleLines(errors.get(r.id)!)}
                  <IconButton icon="close" label="Dismiss" onClick={() => actions.dismissJoinError(r.id)} />
                </p>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty muted">No other rooms to join.</p>
      )}
    </Section>
  );
}
