// Who I am, the connection state in words, and the palette commands as buttons.

import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { IconButton } from './icon.tsx';
import { openSearch } from './search.tsx';
import { visible, visibleLines } from '../../protocol/text.ts';

export function TopBar() {
  const session = model.session.value;
  const degraded = session.state !== 'online';
  return (
    <header class="top-bar">
      <div class="whoami">
        <span class={`presence ${session.state === 'online' ? 'online' : 'offline'}`} aria-hidden="true" />
        <span class="me-name">{visible(session.user ?? '')}</span>
        {degraded && (
          <span class="muted session-detail" role="status">
            {visibleLines(session.detail)}
          </span>
        )}
      </div>
      <div class="top-actions" role="group" aria-label="Chat commands">
        <IconButton icon="search" label="Search Messages (Ctrl+F)" onClick={openSearch} />
        <IconButton icon="key" label="Show My Fingerprint" onClick={() => actions.runCommand('p2pChat.showFingerprint')} />
        <IconButton icon="sign-out" label="Logout" onClick={() => actions.runCommand('p2pChat.logout')} />
      </div>
    </header>
  );
}

export function ErrorBar() {
  const error = model.error.value;
  if (!error) return null;
  return (
    <div class="error-bar" role="alert">
      <span class="codicon codicon-error" aria-hidden="true" />
      <span class="error-text">{visibleLines(error.message)}</span>
      <IconButton icon="close" label="Dismiss error" onClick={() => actions.dismissError()} />
    </div>
  );
}
