// The presence table replaced after a sign-in or resume (peer/tracker-events.ts replacePresence):
// whoever came or went while we were away is reported once, never me, and the directory takes
// the listed rooms.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerInfo, RoomSummary } from '../../protocol/tracker.ts';
import { RoomDirectory } from '../../peer/room-directory.ts';
import { replacePresence } from '../../peer/tracker-events.ts';

const peer = (user: string, online: boolean): PeerInfo => ({ user, online, address: online ? '127.0.0.1' : null, port: online ? 4000 : null, fingerprint: 'AB'.repeat(32) }) as unknown as PeerInfo;

test('replacePresence reports who came and who went, not who stayed, not me; the directory takes the rooms', () => {
  const presence = new Map<string, PeerInfo>([['bob', peer('bob', true)], ['carol', peer('carol', true)], ['alice', peer('alice', true)], ['dave', peer('dave', false)]]);
  const directory = new RoomDirectory(() => {});
  const room = { id: 'r1', name: 'general', private: false, members: 2, owner: 'bob', closed: false } as unknown as RoomSummary;
  const changed = replacePresence(presence, directory, { peers: [peer('bob', true), peer('carol', false), peer('erin', true), peer('alice', false)], rooms: [room] }, 'alice');
  assert.deepEqual(changed.sort((a, b) => a.user.localeCompare(b.user)), [{ user: 'carol', online: false }, { user: 'erin', online: true }]);
  assert.deepEqual([...presence.keys()].sort(), ['alice', 'bob', 'carol', 'erin']);
  assert.equal(presence.get('dave'), undefined, 'not listed any more: forgotten');
  assert.deepEqual(directory.list().map((r) => r.id), ['r1']);
});
