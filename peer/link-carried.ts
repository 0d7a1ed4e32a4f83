// Which envelopes each link has carried, per sender session: what catch-up leaves out of its
// answer on that link. A link is one ordered stream, so what was written to it before the
// answer reaches the member before the answer does, whatever their summary (made when the link
// opened) said. Without this, the first send to a member opens the link, both sides send their
// summaries, my sends queued meanwhile go out live, and my answer to their summary (empty of
// them) sends every one of those messages again: after a burst of more than
// MAX_SESSIONS_PER_SENDER sessions, the oldest sessions' keys reach them again after they
// evicted those sessions, and each is refused with an error (protocol/peer.ts,
// peer/inbound-sessions.ts refusal).
//
// Per link and session one run of consecutive seqs (a session's messages leave in order); a seq
// that does not continue it starts a new run (forgetting only means sending again, which the
// receiver takes as a duplicate). At most MAX_SESSIONS_PER_LINK sessions per link, the least
// recently carried dropped first. Keys hold peers' names and session ids: Maps only.

import type { Envelope } from '../protocol/peer.ts';
import type { PeerLink } from './link.ts';

/** Sessions remembered per link: the newest ones, which a catch-up answer would repeat. */
export const MAX_SESSIONS_PER_LINK = 64;

interface Run {
  first: number;
  last: number;
}

const byLink = new WeakMap<PeerLink, Map<string, Run>>();

function key(room: string, sender: string, session: string): string {
  return `${room}\n${sender}\n${session}`;
}

/** `envelope` was written to `link` (call after link.send returned true). */
export function noteCarried(link: PeerLink, envelope: Pick<Envelope, 'room' | 'sender' | 'session' | 'seq'>): void {
  let runs = byLink.get(link);
  if (!runs) byLink.set(link, (runs = new Map()));
  const k = key(envelope.room, envelope.sender, envelope.session);
  const run = runs.get(k);
  const seq = envelope.seq;
  const continues = run !== undefined && seq >= run.first && seq <= run.last + 1;
  runs.delete(k); // set again below: the most recently carried last
  runs.set(k, continues ? { first: run.first, last: Math.max(run.last, seq) } : { first: seq, last: seq });
  if (runs.size > MAX_SESSIONS_PER_LINK) runs.delete(runs.keys().next().value!);
}

/** Whether `link` has carried message `seq` of (room, sender, session), as far as remembered. */
export function carried(link: PeerLink, room: string, sender: string, session: string, seq: number): boolean {
  const run = byLink.get(link)?.get(key(room, sender, session));
  return run !== undefined && seq >= run.first && seq <= run.last;
}
