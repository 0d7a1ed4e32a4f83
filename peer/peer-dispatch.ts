// Where a peer's message goes once the serial inbox (serial-inbox.ts) hands it over, in the
// order that peer sent it: each kind to the one part that owns it. The link and the inbox item
// travel along so replies go back on the link the request came by.

import type { PeerMessage } from '../protocol/peer.ts';
import type { InboxItem } from './room-sync.ts';
import type { Signed } from './signed-session.ts';

const TRACE = Boolean(process.env.P2P_TRACE);

/** Hands one message from `from` to its part; a promise when that part works asynchronously. */
export function dispatchPeerMessage(s: Signed, from: string, item: InboxItem): void | Promise<void> {
  s.sync.taken(from, item);
  const { msg, link } = item;
  if (TRACE) console.error(`[trace] ${s.user} <- ${from}: ${msg.t}`);
  switch (msg.t) {
    case 'session':
      s.catchUp.answering(link, msg.bundle.room);
      return s.messages.onBundle(from, msg.bundle, link, item);
    case 'envelope':
      s.catchUp.answering(link, msg.envelope.room);
      return s.messages.onEnvelope(from, msg.envelope, link, item);
    case 'ack':
      s.catchUp.onAck(link, msg);
      return s.messages.onAck(from, msg);
    case 'summary':
      return s.catchUp.onSummary(from, msg, link);
    case 'caught_up':
      return s.catchUp.onCaughtUp(link, msg);
    case 'typing':
      return s.messages.onTyping(from, msg);
    case 'heads':
      return compareHeads(s, from, msg, link);
    case 'log_request':
      return s.sync.onLogRequest(from, msg, link);
    case 'log':
      return s.sync.onLog(from, msg);
    case 'ping':
      return;
  }
}

async function compareHeads(s: Signed, from: string, msg: Extract<PeerMessage, { t: 'heads' }>, link: InboxItem['link']): Promise<void> {
  for (const { room, head } of msg.heads) await s.sync.compareHead(room, head, from, link);
}
