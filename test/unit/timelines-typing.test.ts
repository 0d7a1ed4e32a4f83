// extension/timelines.ts and extension/typing.ts on their own: the id index (duplicates refused,
// receipts found without a scan), the history store handed the items it writes, loading once per
// conversation, and typing marks that fade on node:test's mock clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import type { History } from '../../extension/history-store.ts';
import { TimelineStore } from '../../extension/timelines.ts';
import { TYPING_TIMEOUT_MS, TypingUsers } from '../../extension/typing.ts';

const msg = (id: string, text = id): TimelineMessage => ({ kind: 'message', id, from: 'bob', text, sentAt: 1, mine: false, mentionsMe: false });

function recordingHistory(saved: Map<string, TimelineItem[]> = new Map()) {
  const loads: string[] = [];
  const changes: [string, number][] = [];
  const history: History = {
    load: (key) => {
      loads.push(key);
      return [...(saved.get(key) ?? [])];
    },
    changed: (key, items) => changes.push([key, items.length]),
    flush: () => {},
  };
  return { history, loads, changes };
}

test('timelines: a message id is kept once per conversation, also against what history loaded', () => {
  const { history, loads, changes } = recordingHistory(new Map([['r1', [msg('old')]]]));
  const store = new TimelineStore();
  store.use(history);
  assert.equal(store.append('r1', msg('old', 'again')), false, 'a loaded message is a duplicate');
  assert.equal(store.append('r1', msg('a')), true);
  assert.equal(store.append('r1', msg('a')), false);
  assert.equal(store.append('r2', msg('a')), true, 'another conversation has its own ids');
  assert.deepEqual(store.items('r1').map((i) => i.id), ['old', 'a']);
  assert.deepEqual(loads, ['r1', 'r2'], 'each history file is read once');
  assert.deepEqual(changes, [['r1', 2], ['r2', 1]], 'the store is handed the items to write');
});

test('timelines: a receipt updates its message through the index; an unknown id changes nothing', () => {
  const { history, changes } = recordingHistory();
  const store = new TimelineStore();
  store.use(history);
  for (let i = 0; i < 20_000; i++) store.append('r', msg(`m${i}`));
  changes.length = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < 20_000; i++) assert.equal(store.delivered('r', `m${i}`, 1, 2), true);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`20,000 receipts on a 20,000-item timeline: ${ms.toFixed(1)} ms`);
  assert.deepEqual((store.items('r')[123] as TimelineMessage).delivered, { count: 1, of: 2 });
  assert.equal(store.delivered('r', 'nope', 1, 1), false);
  assert.equal(changes.length, 20_000);
  store.use(undefined);
  assert.equal(store.items('r').length, 0, 'signed out: forgotten');
});

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
