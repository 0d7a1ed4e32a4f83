// Logged out: the login form. Logged in: who I am, my conversations, people and the directory,
// and the open conversation below them.

import { model } from '../state.ts';
import { Chat } from './chat.tsx';
import { Conversations } from './conversations.tsx';
import { Directory } from './directory.tsx';
import { Login } from './login.tsx';
import { People } from './people.tsx';
import { SearchPanel } from './search.tsx';
import { ErrorBar, TopBar } from './top-bar.tsx';

export function App() {
  if (!model.ready.value) {
    return (
      <p class="loading muted" role="status">
        Loading…
      </p>
    );
  }
  if (!model.loggedIn.value) return <Login />;
  const hasChat = model.openKey.value !== undefined;
  return (
    <div class={`app${hasChat ? ' has-chat' : ''}`}>
      <TopBar />
      <ErrorBar />
      <SearchPanel />
      <nav class="lists" aria-label="Conversations and people">
        <Conversations />
        <People />
        <Directory />
      </nav>
      <Chat />
    </div>
  );
}
