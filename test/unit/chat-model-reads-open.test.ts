// "Seen by" costs a receiver little (extension/reads-poster.ts, over real engines and a real
// tracker): members' receipts of a conversation the view does not have open read nothing from the
// store and post nothing; in the open one, a burst of receipts is read and posted a few times, not
// once each, and the last receipt's state is what the view is left with.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToView } from '../../protocol/view.ts';
import { roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { modelOf } from '../helpers/chat-model-scene.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

type Reads = Extract<HostToView, { type: 'reads/changed' }>;
const BURST = 12;

test('receipts of a conversation not open cost no reads; in the open one a burst is read a few times and its final state is posted', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines as { alice: TestEngine; bob: TestEngine };
  const b = await modelOf(bob);
  // Every read of members' positions the model makes goes through engine.reads.
  let queries = 0;
  const reads = bob.reads.bind(bob);
  bob.reads = (target) => (queries++, reads(target));

  const sent: string[] = [];
  for (let i = 0; i < 2 * BURST; i++) sent.push((await bob.sendRoom(id, `m${i}`)).id);
  await waitFor(alice, 'message', (m) => m.id === sent.at(-1));
  const receiptsOf = async (ids: string[]) => {
    const last = waitFor(bob, 'read', (e) => e.user === 'alice' && e.upTo === ids.at(-1));
    await Promise.all(ids.map((upTo) => alice.markRead({ room: id }, upTo)));
    await last;
  };

  // Not open: nothing read, nothing posted.
  await receiptsOf(sent.slice(0, BURST));
  assert.equal(queries, 0, 'receipts of a conversation not open read nothing');
  assert.equal(b.posted.filter((m) => m.type === 'reads/changed').length, 0, 'and post nothing');

  // Opened: its reads come with it, as of now.
  await b.model.openConversation(id);
  assert.deepEqual(b.opened().reads, [{ user: 'alice', upTo: sent[BURST - 1], mine: sent[BURST - 1] }]);

  // Open: a burst is read far fewer times than receipts came, and the last one's state is posted.
  queries = 0;
  const final = (m: HostToView) => m.type === 'reads/changed' && m.key === id && m.reads.some((r) => r.user === 'alice' && r.upTo === sent.at(-1));
  const posted = b.next(final);
  await receiptsOf(sent.slice(BURST));
  const last = (b.posted.find(final) ?? (await posted)) as Reads;
  assert.deepEqual(last.reads, [{ user: 'alice', upTo: sent.at(-1), mine: sent.at(-1) }], 'the final state is posted');
  const after = b.posted.filter((m) => m.type === 'reads/changed');
  assert.deepEqual((after.at(-1) as Reads).reads, last.reads, 'nothing older is posted after it');
  assert.ok(queries < BURST, `${BURST} receipts read members' positions ${queries} times`);
});
