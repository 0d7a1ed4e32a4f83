// Everyone on the tracker: presence, whether I verified their key, and a warning when their
// identity key changed (nothing is sent to them until I verify again). A click opens a DM.

import type { PersonItem } from '../../protocol/view.ts';
import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Icon } from './icon.tsx';
import { Section } from './section.tsx';
import { visible } from '../../protocol/text.ts';

function describe(p: PersonItem): string {
  const parts = [visible(p.user), p.online ? 'online' : 'offline'];
  if (p.verified) parts.push('verified');
  if (p.keyChanged) parts.push('identity key changed, verify before writing');
  return `${parts.join(', ')}. Open a direct conversation`;
}

export function People() {
  const people = [...model.people.value].sort((a, b) => Number(b.online) - Number(a.online) || a.user.localeCompare(b.user));
  const online = people.filter((p) => p.online).length;
  return (
    <Section id="people" title="People" count={online} countLabel="online">
      {people.length ? (
        <ul class="list" aria-label="People">
          {people.map((p) => (
            <li key={p.user} class={`person${p.keyChanged ? ' key-changed' : ''}`} data-user={p.user}>
              <button type="button" class="list-item" aria-label={describe(p)} onClick={() => actions.openDirect(p.user)}>
                <span class={`presence ${p.online ? 'online' : 'offline'}`} aria-hidden="true" />
                <span class="item-title">{visible(p.user)}</span>
                {p.verified && <Icon name="verified-filled" class="verified-icon" label="Verified" />}
                {p.keyChanged && (
                  <span class="warning-text" title={`${visible(p.user)}'s identity key changed. Compare fingerprints, then verify.`}>
                    <Icon name="warning" /> key changed
                  </span>
                )}
              </button>
              {p.keyChanged && (
                <button type="button" class="secondary small" aria-label={`Verify ${visible(p.user)}`} onClick={() => actions.verify(p.user)}>
                  Verify…
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty muted">Nobody else has an account yet.</p>
      )}
    </Section>
  );
}
