// Delivery acknowledgements, both ways. As a receiver: acks to one link are batched, one frame per
// turn of the event loop. As a sender: who has acknowledged each of my messages, so the user sees
// "delivered to N of M"; records end when everyone has acknowledged, and only so many are kept.

import type { Envelope, PeerMessage } from '../protocol/peer.ts';

/** Own messages whose delivery counts are kept while not everyone has acknowledged them. */
const MAX_TRACKED = 10_000;

interface Pending {
  room: string;
  roomId: string;
  id: string;
  of: number;
  acked: Set<string>;
}

export interface Delivered {
  room: string;
  roomId: string;
  id: string;
  count: number;
  of: number;
}

export class DeliveryCounts {
  private readonly pending = new Map<string, Pending>();

  /** A message of mine went out to `of` members. */
  /** A message of mine went out to `of` members; `room` is the display name (the id is the envelope's). */
  sent(env: Envelope, room: string, id: string, of: number): void {
    this.pending.set(key(env.sender, env.session, env.seq), { room, roomId: env.room, id, of, acked: new Set() });
    // The oldest go first: a member who never acknowledges must not grow this forever.
    if (this.pending.size > MAX_TRACKED) this.pending.delete(this.pending.keys().next().value!);
  }

  /** An ack from `from`; returns the new counts, one per newly acknowledged message. */
  acked(from: string, ack: Extract<PeerMessage, { t: 'ack' }>): Delivered[] {
    const out: Delivered[] = [];
    for (const seq of ack.seqs) {
      const k = key(ack.sender, ack.session, seq);
      const d = this.pending.get(k);
      if (!d || d.acked.has(from)) continue;
      d.acked.add(from);
      out.push({ room: d.room, roomId: d.roomId, id: d.id, count: d.acked.size, of: d.of });
      if (d.acked.size >= d.of) this.pending.delete(k);
    }
    return out;
  }

  clear(): void {
    this.pending.clear();
  }
}

/** Receiver side: collects the seqs to acknowledge per link and sends them together. */
export class AckBatcher {
  private readonly batches = new Map<{ send(msg: PeerMessage): boolean }, Map<string, number[]>>();

  add(link: { send(msg: PeerMessage): boolean }, env: Envelope): void {
    let batch = this.batches.get(link);
    if (!batch) {
      const created = new Map<string, number[]>();
      batch = created;
      this.batches.set(link, created);
      setImmediate(() => {
        this.batches.delete(link);
        for (const [k, seqs] of created) {
          const [room, sender, session] = k.split(' ');
          link.send({ t: 'ack', room, sender, session, seqs });
        }
      });
    }
    const k = `${env.room} ${env.sender} ${env.session}`;
    batch.set(k, [...(batch.get(k) ?? []), env.seq]);
  }
}

function key(sender: string, session: string, seq: number): string {
  return `${sender} ${session} ${seq}`;
}
