import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerialInbox } from '../../peer/serial-inbox.ts';

test('serial inbox: one key in order, one item at a time; keys run side by side', async () => {
  const log: string[] = [];
  const gates = new Map<string, () => void>();
  const inbox = new SerialInbox<string, string>({
    cap: 10,
    failed: () => assert.fail('no handler fails here'),
    handle: (key, item) => {
      log.push(`${key}:${item}:start`);
      if (item !== 'slow') return;
      return new Promise<void>((resolve) => gates.set(key, () => {
        log.push(`${key}:${item}:end`);
        resolve();
      }));
    },
  });
  assert.ok(inbox.push('a', 'slow'));
  assert.ok(inbox.push('a', 'second'));
  assert.ok(inbox.push('b', 'fast'));
  assert.deepEqual(log, ['a:slow:start', 'b:fast:start'], 'a synchronous item runs in the caller\'s turn; a waits for its slow item');
  assert.equal(inbox.waiting('a'), 2);
  gates.get('a')!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['a:slow:start', 'b:fast:start', 'a:slow:end', 'a:second:start']);
  assert.equal(inbox.waiting('a'), 0);
});

test('serial inbox: a full lane refuses more; a failing item does not stop the lane', async () => {
  const failures: unknown[] = [];
  let release!: () => void;
  const handled: number[] = [];
  const inbox = new SerialInbox<string, number>({
    cap: 3,
    failed: (err) => failures.push(err),
    handle: (_key, n) => {
      handled.push(n);
      if (n === 0) return new Promise<void>((r) => (release = r));
      if (n === 1) throw new Error('bad item');
    },
  });
  assert.ok(inbox.push('p', 0));
  assert.ok(inbox.push('p', 1));
  assert.ok(inbox.push('p', 2));
  assert.equal(inbox.push('p', 3), false, 'the fourth item is over the cap');
  assert.equal(inbox.pushFront('p', [9]), false, 'put-back items count against the cap too');
  release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, [0, 1, 2]);
  assert.equal(failures.length, 1);
});

test('serial inbox: put-back items go ahead of what waits, after the first `skip`', async () => {
  const handled: string[] = [];
  let release!: () => void;
  const inbox = new SerialInbox<string, string>({
    cap: 100,
    failed: (err) => assert.fail(String(err)),
    handle: (_key, item) => {
      handled.push(item);
      if (item === 'running') return new Promise<void>((r) => (release = r));
    },
  });
  inbox.push('p', 'running');
  inbox.push('p', 'later');
  inbox.pushFront('p', ['parked1', 'parked2']);
  inbox.pushFront('p', ['behind-parked'], 2);
  release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, ['running', 'parked1', 'parked2', 'behind-parked', 'later']);
});

test('serial inbox: a lane that never goes idle does not keep its handled items', async () => {
  const TOTAL = 5000;
  let handled = 0;
  let longest = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const inbox: SerialInbox<string, number> = new SerialInbox<string, number>({
    cap: 10,
    failed: (err) => assert.fail(String(err)),
    handle: async (key, n) => {
      handled++;
      const lane = (inbox as unknown as { lanes: Map<string, { items: unknown[] }> }).lanes.get(key)!;
      longest = Math.max(longest, lane.items.length);
      // The next item is queued before this one ends: the lane is never idle until the last.
      if (n + 1 < TOTAL) assert.ok(inbox.push(key, n + 1));
      else finish();
      await Promise.resolve();
    },
  });
  assert.ok(inbox.push('busy', 0));
  await finished;
  assert.equal(handled, TOTAL);
  assert.ok(longest <= 2 * 1024 + 2, `the lane's array grew to ${longest}`);
});
