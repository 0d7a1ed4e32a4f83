// The engine events the interactive client prints, each as the line cli-format.ts words for it
// (EVENT_LINES), as peer text. Owns the tracker link's last state: a connection line depends on
// the state before it, and the first lines of recent messages, so a reaction or an edit names
// the message it is about by its text rather than its id.

import type { ClientEventName, ClientEvents } from '../protocol/client.ts';
import { connectionLine, EVENT_LINES, quoteText } from './cli-format.ts';
import type { ChatEngine } from './engine.ts';
import { PeerText } from './terminal.ts';

/** Prints `engine`'s events with `print` from now on; delivery counts and typing only when `verbose`. */
export function printEvents(engine: ChatEngine, print: (text: PeerText) => void, verbose: boolean): void {
  const recent = new RecentQuotes();
  const quoteOf = (roomId: string, id: string) => recent.get(roomId, id);
  const show = <K extends ClientEventName>(name: K) => (e: ClientEvents[K]) => {
    const line = EVENT_LINES[name]?.(e, { me: engine.user, verbose, quoteOf });
    if (line !== undefined) print(new PeerText(line));
  };
  // Remembered after the line that shows it; a deleted text is never quoted again.
  engine.on('message', show('message'));
  engine.on('message', (e) => (e.deleted ? recent.forget(e.roomId, e.id) : recent.put(e.roomId, e.id, e.from, e.text)));
  engine.on('delivered', show('delivered'));
  engine.on('waiting', show('waiting'));
  engine.on('expired', show('expired'));
  engine.on('gap', show('gap'));
  engine.on('presence', show('presence'));
  engine.on('member_joined', show('member_joined'));
  engine.on('member_left', show('member_left'));
  engine.on('member_kicked', show('member_kicked'));
  engine.on('owner_changed', show('owner_changed'));
  engine.on('room_closed', show('room_closed'));
  engine.on('key_changed', show('key_changed'));
  engine.on('room_forked', show('room_forked'));
  engine.on('typing', show('typing'));
  engine.on('reaction', show('reaction'));
  engine.on('edited', show('edited'));
  engine.on('edited', (e) => recent.update(e.roomId, e.id, e.text));
  engine.on('deleted', show('deleted'));
  engine.on('deleted', (e) => recent.forget(e.roomId, e.id));
  engine.on('read', show('read'));
  engine.on('error', show('error'));
  let state: ClientEvents['connection']['state'] = 'offline';
  engine.on('connection', (e) => {
    const line = connectionLine(state, e);
    state = e.state;
    if (line !== undefined) print(new PeerText(line));
  });
}

/** Messages quoted by events that name them: the newest shown in this run. */
const MAX_RECENT_QUOTES = 1000;

/** The first lines of the newest messages shown, by (conversation, id); the oldest go first. */
class RecentQuotes {
  private readonly quotes = new Map<string, { from: string; quote: string }>();

  get(roomId: string, id: string): string | undefined {
    return this.quotes.get(`${roomId}\n${id}`)?.quote;
  }

  put(roomId: string, id: string, from: string, text: string): void {
    const key = `${roomId}\n${id}`;
    this.quotes.delete(key);
    this.quotes.set(key, { from, quote: quoteText(from, text) });
    if (this.quotes.size > MAX_RECENT_QUOTES) this.quotes.delete(this.quotes.keys().next().value!);
  }

  update(roomId: string, id: string, text: string): void {
    const was = this.quotes.get(`${roomId}\n${id}`);
    if (was) this.quotes.set(`${roomId}\n${id}`, { from: was.from, quote: quoteText(was.from, text) });
  }

  forget(roomId: string, id: string): void {
    this.quotes.delete(`${roomId}\n${id}`);
  }
}
