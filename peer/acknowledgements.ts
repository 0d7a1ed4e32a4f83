// Delivery acknowledgements, receiver side: acks to one link are batched, one frame per
// conversation and session per turn of the event loop, and leave only after what they
// acknowledge is committed to the store (a crash after an ack never loses the message). The
// sender side (who has acknowledged what) is the outbox: peer/delivery.ts.

import type { Envelope, PeerMessage } from '../protocol/peer.ts';

/** Seqs in one ack frame at most (the schema allows 10,000). */
const MAX_SEQS_PER_ACK = 1000;

type AckLink = { send(msg: PeerMessage): boolean };

export class AckBatcher {
  private readonly batches = new Map<AckLink, Map<string, number[]>>();

  /** `beforeSend` runs once before a turn's acks leave (the store's commit); `failed` hears why it threw. */
  constructor(
    private readonly beforeSend: () => void = () => {},
    private readonly failed: (err: unknown) => void = () => {},
  ) {}

  /** Sends every batch now instead of at the end of the turn. */
  flush(): void {
    for (const [link, batch] of [...this.batches]) this.send(link, batch);
  }

  add(link: AckLink, env: Envelope): void {
    let batch = this.batches.get(link);
    if (!batch) {
      const created = new Map<string, number[]>();
      batch = created;
      this.batches.set(link, created);
      setImmediate(() => this.send(link, created));
    }
    const k = `${env.room} ${env.sender} ${env.session}`;
    const seqs = batch.get(k);
    if (seqs) seqs.push(env.seq);
    else batch.set(k, [env.seq]);
  }

  private send(link: AckLink, batch: Map<string, number[]>): void {
    if (this.batches.get(link) !== batch) return; // already sent by flush()
    this.batches.delete(link);
    // Not acknowledged unless stored: after a failed commit nothing is sent (the sender retries).
    try {
      this.beforeSend();
    } catch (err) {
      this.failed(err);
      return;
    }
    for (const [k, seqs] of batch) {
      const [room, sender, session] = k.split(' ');
      for (let i = 0; i < seqs.length; i += MAX_SEQS_PER_ACK) link.send({ t: 'ack', room, sender, session, seqs: seqs.slice(i, i + MAX_SEQS_PER_ACK) });
    }
  }
}
