// The engine events the interactive client prints, each as the line cli-format.ts words for it
// (EVENT_LINES), as peer text. Owns the tracker link's last state: a connection line depends on
// the state before it.

import type { ClientEventName, ClientEvents } from '../protocol/client.ts';
import { connectionLine, EVENT_LINES } from './cli-format.ts';
import type { ChatEngine } from './engine.ts';
import { PeerText } from './terminal.ts';

/** Prints `engine`'s events with `print` from now on; delivery counts and typing only when `verbose`. */
export function printEvents(engine: ChatEngine, print: (text: PeerText) => void, verbose: boolean): void {
  const show = <K extends ClientEventName>(name: K) => (e: ClientEvents[K]) => {
    const line = EVENT_LINES[name]?.(e, { me: engine.user, verbose });
    if (line !== undefined) print(new PeerText(line));
  };
  engine.on('message', show('message'));
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
  engine.on('deleted', show('deleted'));
  engine.on('read', show('read'));
  engine.on('error', show('error'));
  let state: ClientEvents['connection']['state'] = 'offline';
  engine.on('connection', (e) => {
    const line = connectionLine(state, e);
    state = e.state;
    if (line !== undefined) print(new PeerText(line));
  });
}
