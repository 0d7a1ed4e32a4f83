// The search index's fair share when it is full (peer/search-index.ts trim): direct conversations I
// never wrote in share ONE part of the budget. Anyone can start one and accounts are free (the
// tracker lets an address register 100 an hour), so a hundred strangers flooding a hundred direct
// conversations took a hundred shares: a team room's searchable history shrank to a hundredth
// (3 of 40 sampled team messages still found, an attacker's probe). A direct conversation I wrote
// in is a part of its own, like a room.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dmRoom } from '../../protocol/peer.ts';
import { SearchIndex, type IndexedMessage } from '../../peer/search-index.ts';

test('a hundred strangers\' direct conversations take one share of a full index, not a hundred', () => {
  const team: IndexedMessage[] = [];
  for (let i = 0; i < 4000; i++) team.push({ conversation: 'room-team', id: `t${i}`, from: `m${i % 10}`, sentAt: 1_000 + i, text: `deploy note ${i} `.padEnd(250, 'x') });
  // A friend I write to: a part of its own.
  const friend = dmRoom('me', 'friend');
  for (let i = 0; i < 200; i++) team.push({ conversation: friend, id: `f${i}`, from: i % 2 ? 'me' : 'friend', sentAt: 500 + i, text: `lunch plan ${i} `.padEnd(250, 'y') });
  const index = new SearchIndex(() => team, { maxTotalChars: 4_800_000, me: () => 'me' });
  assert.equal(index.search('note 3999 ', { limit: 5 }).length, 1);
  for (let k = 0; k < 100; k++) {
    for (let j = 0; j < 8; j++) index.put({ conversation: dmRoom('me', `stranger${k}`), id: `s${k}-${j}`, from: `stranger${k}`, sentAt: 10_000 + k * 10 + j, text: 'spam '.repeat(1_200) });
  }
  assert.ok(index.coverage().evicted > 0, 'the index is full and evicting');
  let found = 0;
  for (let i = 0; i < 4000; i += 100) if (index.search(`note ${i} `, { conversation: 'room-team', limit: 1 }).length) found++;
  assert.equal(found, 40, 'every sampled team message is still searchable');
  let lunch = 0;
  for (let i = 0; i < 200; i += 10) if (index.search(`lunch plan ${i} `, { conversation: friend, limit: 1 }).length) lunch++;
  assert.equal(lunch, 20, 'the friend\'s conversation keeps all of its history');
  // The strangers evict one another's: the newest of the last stranger is still there.
  assert.equal(index.search('spam', { conversation: dmRoom('me', 'stranger99'), limit: 10 }).length > 0, true);
});
