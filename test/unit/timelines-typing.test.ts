// extension/typing.ts on its own: typing marks that fade on node:test's mock clock; and the gaps a
// timeline takes from its newest page. (Timelines over the engine's store: chat-model-history.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TimelineStore } from '../../extension/timelines.ts';
import { TYPING_TIMEOUT_MS, TypingUsers } from '../../extension/typing.ts';


test('typing: a mark fades after the timeout unless renewed; a stop or a message clears it at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen: string[] = [];
  const typing = new TypingUsers((key, users) => seen.push(`${key}:${users.join('+')}`));
  typing.set('r', 'bob', true);
  typing.set('r', 'carol', true);
  t.mock.timers.tick(TYPING_TIMEOUT_MS - 1);
  typing.set('r', 'bob', true);
  t.mock.timers.tick(1);
  assert.deepEqual(typing.users('r'), ['bob'], 'carol faded, bob renewed');
  typing.set('r', 'bob', false);
  typing.clear('r', 'bob');
  assert.deepEqual(seen, ['r:bob', 'r:bob+carol', 'r:bob+carol', 'r:bob', 'r:']);
  typing.set('x', 'dave', true);
  typing.reset();
  t.mock.timers.tick(TYPING_TIMEOUT_MS * 2);
  assert.deepEqual(typing.users('x'), []);
  assert.equal(seen.at(-1), 'x:dave', 'reset reports nothing');
});

test('timelines: the newest page brings the gaps the store still knows of; later gap events update them', async () => {
  const store = new TimelineStore();
  store.use({ page: async () => ({ items: [], more: false, newer: false, gaps: [{ from: 'carol', missing: 12 }] }) });
  store.gap('r', 'dave', 3); // told before the page was read: the page, read later, is newer
  await store.load('r');
  assert.deepEqual(store.gaps('r'), [{ from: 'carol', missing: 12 }]);
  assert.deepEqual(store.gap('r', 'carol', 0), [], 'filled');
});
