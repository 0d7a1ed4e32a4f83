import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckBatcher, DeliveryCounts } from '../../peer/acknowledgements.ts';
import type { Envelope, PeerMessage } from '../../protocol/peer.ts';

const env = (seq: number, session = 'S'.repeat(22)): Envelope =>
  ({ room: 'dm:alice:bob', head: { seq: 0, hash: 'A'.repeat(43) }, sender: 'alice', session, seq, iv: '', ct: '', sig: '' }) as Envelope;
const ack = (seqs: number[], session = 'S'.repeat(22)): Extract<PeerMessage, { t: 'ack' }> => ({ t: 'ack', room: 'dm:alice:bob', sender: 'alice', session, seqs });

test('delivery counts: one count per member, duplicates ignored, unknown messages ignored', () => {
  const counts = new DeliveryCounts();
  counts.sent(env(0), 'general', 'm0', 2);
  assert.deepEqual(counts.acked('bob', ack([0])), [{ room: 'general', roomId: 'dm:alice:bob', id: 'm0', count: 1, of: 2 }]);
  assert.deepEqual(counts.acked('bob', ack([0])), [], 'the same member twice counts once');
  assert.deepEqual(counts.acked('carol', ack([0, 7])), [{ room: 'general', roomId: 'dm:alice:bob', id: 'm0', count: 2, of: 2 }]);
  assert.deepEqual(counts.acked('dave', ack([0])), [], 'the record ended once everyone had acknowledged');
});

test('delivery counts: the oldest records go first beyond the bound', () => {
  const counts = new DeliveryCounts();
  for (let i = 0; i <= 10_000; i++) counts.sent(env(i), 'general', `m${i}`, 3);
  assert.deepEqual(counts.acked('bob', ack([0])), [], 'the oldest was dropped');
  assert.equal(counts.acked('bob', ack([10_000]))[0].id, 'm10000');
});

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
