import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomDirectory } from '../../peer/room-directory.ts';
import type { RoomSummary } from '../../protocol/tracker.ts';

const room = (id: string, name: string, extra: Partial<RoomSummary> = {}): RoomSummary => ({
  id: id.padEnd(43, 'x'), name, private: false, members: 1, online: 1, closed: false, head: { seq: 0, hash: 'A'.repeat(43) }, member: false, ...extra,
});

test('room directory: pushes update it; one announcement per turn, none when nothing changed', async () => {
  const seen: RoomSummary[][] = [];
  const dir = new RoomDirectory((rooms) => seen.push(rooms));
  dir.update([room('b', 'beta')]);
  dir.update([room('a', 'alpha')]);
  dir.update([room('a', 'alpha', { members: 2 })]);
  assert.equal(seen.length, 0, 'announced when the turn ends, not per push');
  await Promise.resolve();
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0].map((r) => [r.name, r.members]), [['alpha', 2], ['beta', 1]], 'sorted by name, the newest summary kept');
  dir.update([room('a', 'alpha', { members: 2 })]);
  await Promise.resolve();
  assert.equal(seen.length, 1, 'the same summary again is no change');
  assert.equal(dir.get(room('a', '').id)?.members, 2);
  assert.equal(dir.byName('beta')?.id, room('b', '').id);
});

test('room directory: a closed room leaves; a full list replaces what it does not name', async () => {
  const seen: RoomSummary[][] = [];
  const dir = new RoomDirectory((rooms) => seen.push(rooms));
  dir.update([room('a', 'alpha'), room('b', 'beta'), room('c', 'gamma')]);
  dir.update([room('a', 'alpha', { closed: true })]);
  await Promise.resolve();
  assert.deepEqual(seen.at(-1)!.map((r) => r.name), ['beta', 'gamma']);
  dir.replace([room('c', 'gamma')]);
  await Promise.resolve();
  assert.deepEqual(dir.list().map((r) => r.name), ['gamma']);
  assert.equal(seen.length, 2);
});
