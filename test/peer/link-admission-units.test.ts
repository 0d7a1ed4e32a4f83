// The admission pieces on their own, with an injected clock: token buckets per address and in
// total, the pending-handshake counter, and the bounded cache of names the tracker did not know.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRsaKeyPair } from '../../protocol/crypto.ts';
import { EventEmitter, once } from 'node:events';
import { KeyLookupGate, LookupBudgetError, PendingHandshakes, TokenBuckets, resolveLimits } from '../../peer/link-admission.ts';
import { RefusalReporter, type RefusalDetail, type RefusalSummary } from '../../peer/link-refusals.ts';

test('token buckets: a burst per address and in total, refilled by the clock', () => {
  let now = 0;
  const b = new TokenBuckets(2, 1, 3, 10, () => now);
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a')], [true, true, false]);
  assert.equal(b.waitMs('a'), 1000);
  assert.equal(b.take('b'), true); // another address has its own bucket…
  assert.equal(b.take('c'), false); // …but the total (3) is spent
  now += 100; // the total refills at 10/s
  assert.equal(b.take('c'), true);
  assert.equal(b.take('a'), false);
  now += 900;
  assert.equal(b.take('a'), true);
  assert.equal(new TokenBuckets(0, 0, 5, 5, () => now).waitMs('x'), Infinity);
});

test('token buckets: acquire waits for a token and gives up when cancelled', async () => {
  const b = new TokenBuckets(1, 20, 1, 20);
  assert.equal(await b.acquire('a', () => false), true);
  const started = Date.now();
  assert.equal(await b.acquire('a', () => false), true); // 50 ms at 20/s
  assert.ok(Date.now() - started >= 30);
  assert.equal(await b.acquire('a', () => true), false);
});

test('pending handshakes: capped per address and in total, released one by one', () => {
  const p = new PendingHandshakes(2, 3);
  assert.deepEqual([p.admit('a'), p.admit('a'), p.admit('a')], [true, true, false]);
  assert.deepEqual([p.admit('b'), p.admit('c')], [true, false]);
  assert.equal(p.total, 3);
  p.release('a');
  assert.equal(p.admit('c'), true);
  p.release('zzz'); // never admitted: nothing changes
  assert.equal(p.total, 3);
});

test('key lookups: pinned names are free, unknown names are cached for a while and the cache is bounded', async () => {
  const { publicKey } = await generateRsaKeyPair();
  let now = 0;
  const asked: string[] = [];
  const gate = new KeyLookupGate((u) => (u === 'alice' ? publicKey : undefined), async (u) => {
    asked.push(u);
    return undefined;
  }, resolveLimits({ lookupBurstPerAddress: 100, lookupBurstTotal: 100, unknownNameTtlMs: 1000, unknownNamesMax: 2 }), () => now);
  assert.equal(await gate.lookup('alice', 'x'), publicKey);
  assert.equal(await gate.lookup('ghost', 'x'), undefined);
  assert.equal(await gate.lookup('ghost', 'x'), undefined);
  assert.deepEqual(asked, ['ghost']);
  now += 1001; // expired: asked again
  await gate.lookup('ghost', 'x');
  assert.deepEqual(asked, ['ghost', 'ghost']);
  await gate.lookup('n1', 'x');
  await gate.lookup('n2', 'x'); // the cache holds 2: 'ghost' goes
  await gate.lookup('ghost', 'x');
  assert.deepEqual(asked, ['ghost', 'ghost', 'n1', 'n2', 'ghost']);
  assert.equal(gate.remoteLookups, 5);
});

test('key lookups: over the budget a LookupBudgetError with code link.busy, and a tracker error is not cached', async () => {
  let fail = true;
  const gate = new KeyLookupGate(() => undefined, async () => {
    if (fail) throw new Error('tracker down');
    return undefined;
  }, resolveLimits({ lookupBurstPerAddress: 2, lookupPerSecondPerAddress: 0, lookupBurstTotal: 10, lookupPerSecondTotal: 0 }));
  await assert.rejects(gate.lookup('bob', 'x'), /tracker down/);
  fail = false;
  assert.equal(await gate.lookup('bob', 'x'), undefined); // asked again: the error was not remembered
  await assert.rejects(gate.lookup('carol', 'x'), (e: unknown) => e instanceof LookupBudgetError && e.code === 'link.busy');
  assert.equal(await gate.lookup('bob', 'x'), undefined); // cached: no token needed
  assert.equal(gate.remoteLookups, 2);
});

test('refusals: a few one by one per interval, the rest in one summary with counts; then a fresh interval', async () => {
  const events = new EventEmitter();
  const keepAlive = setInterval(() => {}, 1000); // the reporter's timer is unref'd: it never holds a process open
  const one: RefusalDetail[] = [];
  const reporter = new RefusalReporter(3, 100, (d) => one.push(d), (s) => events.emit('summary', s));
  for (let i = 0; i < 1000; i++) reporter.report({ address: `10.0.0.${i % 4}`, code: i % 10 ? 'link.timeout' : 'link.busy', message: 'x' });
  const [summary] = (await once(events, 'summary')) as [RefusalSummary];
  assert.equal(one.length, 3);
  assert.equal(summary.count, 997);
  assert.deepEqual(summary.codes, [['link.timeout', 898], ['link.busy', 99]]);
  assert.equal(summary.addresses, 4);
  assert.match(summary.message, /^refused 997 more peer links in the last 0.1 s from 4 addresses \(898 link.timeout, 99 link.busy\)/);
  reporter.report({ address: '10.0.0.9', code: 'link.protocol', message: 'later' });
  assert.equal(one.length, 4, 'a new interval reports one by one again');
  reporter.close();
  clearInterval(keepAlive);
});
