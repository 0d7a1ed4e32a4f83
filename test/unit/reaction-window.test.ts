// extension/message-updates.ts reaction windows, step by step on mocked timers: the first reaction
// on a message is posted at once; the ones within REACTION_WINDOW_MS after it are posted once, at
// the window's end, as the store has the message then (one store read, not one per reaction); a
// window with nothing in it posts nothing and closes. (Over real engines: reaction-posts.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryMessage } from '../../protocol/client.ts';
import type { HostToView, TimelineMessage } from '../../protocol/view.ts';
import { MessageUpdates, REACTION_WINDOW_MS, type StoredMessages } from '../../extension/message-updates.ts';
import { TimelineStore } from '../../extension/timelines.ts';

const KEY = 'R'.repeat(43);

test('reactions within a window are posted once at its end, the store read once, with the state then', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // bob's 👍 toggles and users' 🎉, as the store holds them.
  const thumbs = new Set<string>();
  let reads = 0;
  const engine: StoredMessages = {
    user: 'alice',
    message: (_target, id): HistoryMessage | undefined => {
      reads++;
      return id === 'm1' ? { id, from: 'bob', text: 'ship it', sentAt: 1000, ...(thumbs.size ? { reactions: [{ emoji: '👍', users: [...thumbs] }] } : {}) } : undefined;
    },
    reads: () => [],
  };
  const timelines = new TimelineStore();
  timelines.add(KEY, { kind: 'message', id: 'm1', from: 'bob', text: 'ship it', sentAt: 1000, mine: false, mentionsMe: false });
  const posts: TimelineMessage[] = [];
  const updates = new MessageUpdates(timelines, () => engine, (m: HostToView) => void (m.type === 'message/updated' && posts.push(m.message)), () => undefined);
  const react = (user: string, on: boolean) => {
    if (on) thumbs.add(user);
    else thumbs.delete(user);
    updates.changed(KEY, 'm1', { t: 'reaction', user, emoji: '👍', on });
  };
  const users = (m: TimelineMessage | undefined) => m?.reactions?.find((r) => r.emoji === '👍')?.users ?? [];

  react('bob', true);
  assert.equal(posts.length, 1, 'the first one at once');
  assert.deepEqual(users(posts[0]), ['bob']);
  for (let i = 0; i < 50; i++) react(i % 2 ? 'bob' : 'carol', i % 4 < 2);
  react('dave', true);
  assert.equal(posts.length, 1, 'the others wait for the window to end');
  assert.equal(reads, 1, 'and read nothing meanwhile');

  t.mock.timers.tick(REACTION_WINDOW_MS);
  assert.equal(posts.length, 2, 'one post for the window');
  assert.equal(reads, 2, 'one store read for it');
  assert.deepEqual(users(posts[1]).sort(), [...thumbs].sort(), 'the state at its end');
  assert.deepEqual(users(timelines.message(KEY, 'm1')).sort(), [...thumbs].sort(), "and the window's copy");

  t.mock.timers.tick(REACTION_WINDOW_MS);
  assert.equal(posts.length, 2, 'a window with nothing in it posts nothing');
  assert.equal(reads, 2);
  react('erin', true);
  assert.equal(posts.length, 3, 'the window closed: the next one is posted at once');
  assert.ok(users(posts[2]).includes('erin'));
});

test('edits within a window are posted once at its end with the latest text; a delete is posted at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let text = 'ship it';
  let deleted = false;
  const engine: StoredMessages = {
    user: 'alice',
    message: (_target, id): HistoryMessage | undefined => (id === 'm1' ? { id, from: 'bob', text: deleted ? '' : text, sentAt: 1000, edited: true, ...(deleted ? { deleted: true } : {}) } : undefined),
    reads: () => [],
  };
  const timelines = new TimelineStore();
  timelines.add(KEY, { kind: 'message', id: 'm1', from: 'bob', text: 'ship it', sentAt: 1000, mine: false, mentionsMe: false });
  const posts: TimelineMessage[] = [];
  const updates = new MessageUpdates(timelines, () => engine, (m: HostToView) => void (m.type === 'message/updated' && posts.push(m.message)), () => undefined);
  const edit = (to: string) => {
    text = to;
    updates.changed(KEY, 'm1', { t: 'edited', text: to });
  };
  edit('ship it now');
  assert.equal(posts.length, 1, 'the first at once');
  for (let i = 0; i < 300; i++) edit(`ship it ${i} ${'x'.repeat(1000)}`);
  assert.equal(posts.length, 1, 'the others wait for the window to end');
  t.mock.timers.tick(REACTION_WINDOW_MS);
  assert.equal(posts.length, 2, 'one post for 300 edits');
  assert.equal(posts[1]!.text, text, 'the latest text');
  edit('last one');
  deleted = true;
  updates.changed(KEY, 'm1', { t: 'deleted' });
  assert.equal(posts.at(-1)!.deleted, true, 'a delete is posted at once, in an open window too');
});
