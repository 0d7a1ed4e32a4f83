import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckBatcher } from '../../peer/acknowledgements.ts';
import type { Envelope, PeerMessage } from '../../protocol/peer.ts';

const env = (seq: number, session = 'S'.repeat(22)): Envelope =>
  ({ room: 'dm:alice:bob', head: { seq: 0, hash: 'A'.repeat(43) }, sender: 'alice', session, seq, iv: '', ct: '', sig: '' }) as Envelope;
const ack = (seqs: number[], session = 'S'.repeat(22)): Extract<PeerMessage, { t: 'ack' }> => ({ t: 'ack', room: 'dm:alice:bob', sender: 'alice', session, seqs });

test('acks to one link in one turn go out as one frame per session', async () => {
  const sent: PeerMessage[] = [];
  const link = { send: (m: PeerMessage) => sent.push(m) > 0 };
  const batcher = new AckBatcher();
  batcher.add(link, env(1));
  batcher.add(link, env(2));
  batcher.add(link, env(3, 'T'.repeat(22)));
  assert.equal(sent.length, 0, 'nothing before the turn ends');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(sent, [ack([1, 2]), ack([3], 'T'.repeat(22))]);
});

test('acks leave only after the store committed; a failed commit sends none', async () => {
  const sent: PeerMessage[] = [];
  const order: string[] = [];
  const link = { send: (m: PeerMessage) => (order.push('ack'), sent.push(m) > 0) };
  const ok = new AckBatcher(() => order.push('commit'));
  ok.add(link, env(1));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['commit', 'ack']);

  const failures: unknown[] = [];
  const failing = new AckBatcher(() => {
    throw new Error('disk full');
  }, (err) => failures.push(err));
  sent.length = 0;
  failing.add(link, env(2));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(sent, [], 'nothing acknowledged that is not stored');
  assert.equal((failures[0] as Error).message, 'disk full');
});
