// "Next Unread Conversation" in a window attached to another window's engine (extension/chat-mirror.ts
// over what the holder posts) goes where the holder's own window goes (extension/conversation-list.ts):
// the next conversation with unread messages AFTER the open one in the sidebar's order, round again
// from the top, the open one last. (It used to take the first one from the top.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dmRoom } from '../../protocol/peer.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { ChatMirror } from '../../extension/chat-mirror.ts';
import { ConversationList } from '../../extension/conversation-list.ts';
import { ReadMarks } from '../../extension/read-state.ts';

const SESSION = { state: 'online', user: 'alice', tracker: '127.0.0.1:1', detail: 'online' } as const;
const ROOMS = ['A', 'B', 'C', 'D'].map((c) => ({ id: c.repeat(43), name: `room-${c}`, private: false, owner: null, members: 3, forked: false }));
const DM = dmRoom('alice', 'bob');

/** The holder's sidebar (a real ConversationList over an engine's joined rooms) with `unread` counts, and an attached window's mirror of what it posts. */
function sides(unread: Record<string, number>, openKey: string | undefined) {
  const engine = { user: 'alice', joinedRooms: () => ROOMS } as unknown as ChatEngine;
  const marks = new ReadMarks(() => {});
  const list = new ConversationList(() => engine, marks, () => undefined);
  list.keep(DM);
  for (const [key, n] of Object.entries(unread)) for (let i = 0; i < n; i++) marks.unreadOne(key, false);
  const mirror = new ChatMirror();
  mirror.apply({ type: 'host/snapshot', snapshot: { session: SESSION, rooms: list.items(), directory: [], people: [] } });
  if (openKey) mirror.apply({ type: 'conversation/opened', key: openKey, title: list.title(openKey), direct: openKey === DM, timeline: [], members: [], typing: [] });
  return { list, mirror };
}

test('an attached window\'s next unread is the one after the open conversation in the sidebar\'s order, not the first from the top', () => {
  const [a, b, c] = ROOMS.map((r) => r.id);
  const { list, mirror } = sides({ [a!]: 1, [c!]: 2 }, b);
  assert.equal(mirror.openKey, b);
  assert.equal(list.nextUnread(b), c, "the holder's sidebar: after the open one");
  assert.equal(mirror.nextUnread(), c, 'the attached window: the same one');
});

test("an attached window's next unread agrees with the holder's for every open conversation, the direct ones and none open", () => {
  const keys = [...ROOMS.map((r) => r.id), DM];
  // Every set of conversations with unread messages, with each one open in turn (and none).
  for (let set = 0; set < 1 << keys.length; set++) {
    const unread = Object.fromEntries(keys.filter((_, i) => set & (1 << i)).map((k) => [k, 1]));
    for (const open of [undefined, ...keys]) {
      const { list, mirror } = sides(unread, open);
      assert.equal(mirror.nextUnread(), list.nextUnread(open), `unread ${Object.keys(unread).map((k) => k[0]).join('')}, open ${open?.[0]}`);
    }
  }
});
