// Gaps.passOver (peer/gaps.ts): a sender's superseding action names seqs of theirs not to expect
// (protocol/message-actions.ts `covers`); they stop counting as missing whether the holes were seen
// already or are still ahead, and one that arrives after all is taken as usual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gaps } from '../../peer/gaps.ts';

const ROOM = 'A'.repeat(43);

function gaps(): { g: Gaps; told: number[] } {
  const told: number[] = [];
  return { g: new Gaps((_room, _sender, missing) => told.push(missing)), told };
}
const none = () => -1;

test('skip after the holes are seen: they stop counting; the rest stay', () => {
  const { g, told } = gaps();
  g.arrived(ROOM, 'alice', 'S1', 0, none);
  g.arrived(ROOM, 'alice', 'S1', 6, none);
  assert.equal(g.missing(ROOM, 'alice'), 5, '1..5');
  g.passOver(ROOM, 'alice', 'S1', [1, 2, 4], none);
  assert.equal(g.missing(ROOM, 'alice'), 2, '3 and 5 are still missing');
  assert.deepEqual(told, [5, 2]);
  g.passOver(ROOM, 'bob', 'S1', [3, 5], none);
  g.passOver(ROOM, 'alice', 'S2', [3, 5], none);
  assert.equal(g.missing(ROOM, 'alice'), 2, 'another sender\'s or another session\'s skip changes nothing of these');
  g.arrived(ROOM, 'alice', 'S1', 2, none);
  assert.equal(g.missing(ROOM, 'alice'), 2, 'a skipped one arriving after all is taken as usual');
  g.arrived(ROOM, 'alice', 'S1', 3, none);
  assert.equal(g.missing(ROOM, 'alice'), 1);
});

test('skip before the holes are seen: a later arrival does not count them', () => {
  const { g, told } = gaps();
  g.arrived(ROOM, 'alice', 'S1', 0, none);
  g.passOver(ROOM, 'alice', 'S1', [2, 3, 7, 9], none);
  assert.deepEqual(told, [], 'nothing was missing, nothing is');
  g.arrived(ROOM, 'alice', 'S1', 5, none);
  assert.equal(g.missing(ROOM, 'alice'), 2, '1 and 4; 2 and 3 were skipped');
  g.arrived(ROOM, 'alice', 'S1', 10, none);
  assert.equal(g.missing(ROOM, 'alice'), 4, 'and 6, 8 (7 and 9 skipped)');
  g.arrived(ROOM, 'alice', 'S1', 7, none);
  assert.equal(g.missing(ROOM, 'alice'), 4, 'a skipped one arriving counts nothing');
  // A session not seen yet in this run starts from what is held (`held`), as `arrived` does.
  g.passOver(ROOM, 'alice', 'S3', [4, 5], () => 2);
  g.arrived(ROOM, 'alice', 'S3', 7, () => 2);
  assert.equal(g.missing(ROOM, 'alice'), 4 + 2, 'S3 lacks 3 and 6');
});
