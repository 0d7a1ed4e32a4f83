// The open conversation's members: presence, owner (star) and verified badges, and what I can do
// about each one: write directly, verify their key, or (as the owner) remove them from the room.

import { useState } from 'preact/hooks';
import type { MemberItem } from '../../protocol/view.ts';
import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { ConfirmBar } from './confirm-bar.tsx';
import { Icon, IconButton } from './icon.tsx';
import { visible } from '../../protocol/text.ts';

const order = (a: MemberItem, b: MemberItem): number =>
  Number(b.owner) - Number(a.owner) || Number(b.online) - Number(a.online) || a.user.localeCompare(b.user);

export function MemberList({ conversation, title, direct, iAmOwner }: { conversation: string; title: string; direct: boolean; iAmOwner: boolean }) {
  const me = model.me.value;
  const members = [...model.members.value].sort(order);
  const [kicking, setKicking] = useState<string | undefined>();
  return (
    <section id="member-list" class="member-list" aria-label={`Members of ${title}`}>
      <ul class="list">
        {members.map((m) => (
          <li key={m.user} class="member" data-user={m.user}>
            <div class="member-row">
              <span class={`presence ${m.online ? 'online' : 'offline'}`} aria-hidden="true" />
              <span class="item-title" title={m.fingerprint ? `Key fingerprint ${visible(m.fingerprint)}` : undefined}>
                {visible(m.user)}
                {m.user === me && <span class="muted"> (you)</span>}
              </span>
              <span class="sr-only">{m.online ? ', online' : ', offline'}</span>
              {m.owner && <Icon name="star-full" class="owner-icon" label="Owner" />}
              {m.verified && <Icon name="verified-filled" class="verified-icon" label="Verified" />}
              {m.user !== me && (
                <span class="member-actions">
                  {!direct && <IconButton icon="mail" label={`Message ${visible(m.user)} directly`} onClick={() => actions.openDirect(m.user)} />}
                  {!m.verified && (
                    <button type="button" class="secondary small" aria-label={`Verify ${visible(m.user)}`} onClick={() => actions.verify(m.user)}>
                      Verify…
                    </button>
                  )}
                  {iAmOwner && !direct && <IconButton icon="circle-slash" label={`Remove ${visible(m.user)} from ${title}`} onClick={() => setKicking(m.user)} />}
                </span>
              )}
            </div>
            {kicking === m.user && (
              <ConfirmBar
                text={`Remove ${visible(m.user)} from ${title}?`}
                confirmLabel="Remove"
                onConfirm={() => actions.kick(conversation, m.user)}
                onCancel={() => setKicking(undefined)}
              />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
