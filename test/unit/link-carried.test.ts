// What a link has carried (peer/link-carried.ts), which catch-up leaves out of its answer there:
// runs of consecutive seqs per session and link, bounded per link.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerLink } from '../../peer/link.ts';
import { MAX_SESSIONS_PER_LINK, carried, noteCarried } from '../../peer/link-carried.ts';

const link = () => ({}) as PeerLink;
const env = (session: string, seq: number) => ({ room: 'r', sender: 'bob', session, seq });

test('a run of consecutive seqs per session and link; another link carried nothing', () => {
  const a = link();
  const b = link();
  for (let seq = 3; seq <= 7; seq++) noteCarried(a, env('s1', seq));
  noteCarried(a, env('s1', 5)); // again, inside the run
  assert.deepEqual([2, 3, 7, 8].map((seq) => carried(a, 'r', 'bob', 's1', seq)), [false, true, true, false]);
  assert.equal(carried(b, 'r', 'bob', 's1', 5), false);
  assert.equal(carried(a, 'r', 'alice', 's1', 5), false, 'another sender');
  assert.equal(carried(a, 'other', 'bob', 's1', 5), false, 'another room');
  // A seq that does not continue the run starts a new one: forgetting only means sending again.
  noteCarried(a, env('s1', 20));
  assert.deepEqual([5, 20].map((seq) => carried(a, 'r', 'bob', 's1', seq)), [false, true]);
});

test(`at most ${MAX_SESSIONS_PER_LINK} sessions per link: the least recently carried goes first`, () => {
  const a = link();
  for (let i = 0; i <= MAX_SESSIONS_PER_LINK; i++) noteCarried(a, env(`s${i}`, 0));
  assert.equal(carried(a, 'r', 'bob', 's0', 0), false);
  assert.equal(carried(a, 'r', 'bob', 's1', 0), true);
  noteCarried(a, env('s1', 1)); // s1 is carried again: now the newest
  noteCarried(a, env('new', 0));
  assert.equal(carried(a, 'r', 'bob', 's1', 1), true);
  assert.equal(carried(a, 'r', 'bob', 's2', 0), false);
});
