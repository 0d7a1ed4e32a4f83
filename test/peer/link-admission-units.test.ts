// The admission pieces on their own, with an injected clock: token buckets per address and in
// total, the pending-handshake counter and its choice of whom to evict, and the bounded cache of names the tracker did not know.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRsaKeyPair } from '../../protocol/crypto.ts';
import { EventEmitter, once } from 'node:events';
import { isCoded } from '../../protocol/errors.ts';
import { KeyLookupGate, PendingHandshakes, TokenBuckets, resolveLimits } from '../../peer/link-admission.ts';
import { RefusalReporter, evictionMessage, type RefusalDetail, type RefusalSummary } from '../../peer/link-refusals.ts';

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

test('pending handshakes: capped per address; with the total full and no address holding two more, refused; released one by one', () => {
  const p = new PendingHandshakes(2, 3);
  const [a1, a2, a3] = [p.admit('a'), p.admit('a'), p.admit('a')];
  assert.ok(a1 && a2 && a3 === undefined, 'the third from a is over the cap per address');
  assert.ok(p.admit('b'));
  assert.equal(p.total, 3);
  assert.equal(p.admit('b'), undefined, 'full (a 2, b 1): b would take a slot of a and then hold more than a, so no');
  assert.equal(p.evictions, 0);
  a1.release();
  a1.release(); // twice: uncounted once
  assert.deepEqual([p.of('a'), p.total], [1, 2]);
  assert.ok(p.admit('b'));
  assert.deepEqual([p.of('a'), p.of('b'), p.total], [1, 2, 3]);
  assert.equal(p.admit('a'), undefined, 'b holds only one more than a');
  assert.ok(p.admit('c'), 'b holds two more than c: its oldest makes room');
  assert.deepEqual([p.of('a'), p.of('b'), p.of('c'), p.total, p.evictions], [1, 1, 1, 3, 1]);
});

test('pending handshakes: with the total full, the oldest of the address holding the most makes room for a lighter one', () => {
  const p = new PendingHandshakes(8, 6);
  const evicted: string[] = [];
  const admit = (address: string, name: string) => p.admit(address, ({ by, held }) => evicted.push(`${name} for ${by} (${held})`));
  admit('x', 'x1'); admit('y', 'y1'); admit('x', 'x2'); admit('y', 'y2'); admit('y', 'y3'); admit('x', 'x3');
  assert.equal(p.total, 6);
  // x and y hold 3 each: tied, and x's oldest (x1) is the oldest overall.
  assert.equal(p.victimFor('m')?.seq, 0);
  assert.ok(admit('m', 'm1'));
  assert.deepEqual(evicted, ['x1 for m (3)']);
  assert.deepEqual([p.of('x'), p.of('y'), p.of('m'), p.total], [2, 3, 1, 6]);
  // Now y holds the most: its oldest goes.
  assert.ok(admit('n', 'n1'));
  assert.deepEqual(evicted.at(-1), 'y1 for n (3)');
  // x, y, m, n hold 2, 2, 1, 1: nobody holds two more than a newcomer from x, y, m or n…
  assert.deepEqual([p.of('x'), p.of('y'), p.of('m'), p.of('n')], [2, 2, 1, 1]);
  for (const address of ['x', 'y', 'm', 'n']) assert.equal(admit(address, 'no'), undefined, address);
  // …but a new address still gets a slot, from the older of the tied x and y, then from the other.
  assert.ok(admit('o', 'o1'));
  assert.ok(admit('q', 'q1'));
  assert.deepEqual(evicted.slice(2), ['x2 for o (2)', 'y2 for q (2)']);
  // Six addresses with one each: none of them may take from another…
  for (const address of ['x', 'y', 'm', 'n', 'o', 'q']) assert.equal(admit(address, 'no'), undefined, address);
  // …but a newcomer from an address holding none evicts the oldest handshake overall (y3).
  assert.equal(p.victimFor('r')?.seq, 4);
  assert.ok(admit('r', 'r1'));
  assert.deepEqual(evicted.slice(4), ['y3 for r (1)']);
  assert.equal(p.evictions, 5);
  assert.equal(p.total, 6);
  assert.equal(p.of('y'), 0);
  // An evicted ticket is no longer counted: releasing it later changes nothing.
  const q = new PendingHandshakes(8, 2);
  const old = q.admit('s')!;
  q.admit('s');
  assert.ok(q.admit('t'));
  old.release();
  assert.deepEqual([q.of('s'), q.of('t'), q.total], [1, 1, 2]);
});

test('pending handshakes: a flood from k addresses shares the total; a newcomer from another address always gets a slot', () => {
  const p = new PendingHandshakes(16, 128);
  const live = new Set<string>();
  let n = 0;
  const admit = (address: string) => {
    const id = `${address}#${n++}`;
    const t = p.admit(address, () => live.delete(id));
    if (t) live.add(id);
    return t;
  };
  // 12 addresses keep offering far more than their caps, round after round.
  for (let round = 0; round < 40; round++) for (let a = 0; a < 12; a++) admit(`10.0.0.${a}`);
  assert.equal(p.total, 128);
  const counts = Array.from({ length: 12 }, (_, a) => p.of(`10.0.0.${a}`));
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, counts.join());
  const evictionsBefore = p.evictions;
  for (let round = 0; round < 10; round++) for (let a = 0; a < 12; a++) admit(`10.0.0.${a}`);
  assert.equal(p.evictions, evictionsBefore, 'balanced flooders never evict each other');
  // A member from a new address: admitted, a flooder's oldest evicted.
  assert.ok(admit('192.0.2.1'));
  assert.equal(p.evictions, evictionsBefore + 1);
  assert.equal(p.total, 128);
  assert.equal(live.size, 128);
});

test('pending handshakes: more addresses than the total cap, one handshake each, reconnecting: a newcomer from a new address is always admitted', () => {
  const p = new PendingHandshakes(16, 128);
  const live = new Map<string, string>(); // id -> address
  let n = 0;
  const admit = (address: string) => {
    const id = `${address}#${n++}`;
    const t = p.admit(address, () => live.delete(id));
    if (t) live.set(id, address);
    return t;
  };
  const flooder = (i: number) => `10.0.${i >> 8}.${i & 255}`;
  for (let i = 0; i < 130; i++) admit(flooder(i));
  assert.equal(p.total, 128);
  assert.equal(p.evictions, 2, 'the 129th and 130th evicted the two oldest');
  // Every flooder holding one reconnects again and again: those holding one are refused (no
  // address holds two more), those evicted come back as newcomers and evict the oldest.
  for (let round = 0; round < 5; round++) for (let i = 0; i < 130; i++) admit(flooder(i));
  assert.equal(p.total, 128);
  assert.ok(Math.max(...Array.from({ length: 130 }, (_, i) => p.of(flooder(i)))) <= 1);
  // A member from a new address: admitted, by evicting the oldest handshake overall.
  const evictionsBefore = p.evictions;
  const member = admit('192.0.2.1');
  assert.ok(member);
  assert.equal(p.evictions, evictionsBefore + 1);
  assert.equal(p.of('192.0.2.1'), 1);
  assert.equal(p.total, 128);
  // Its handshake, younger than all the flooders', survives the next 127 newcomers' evictions.
  for (let i = 0; i < 127; i++) assert.ok(admit(`10.1.0.${i}`));
  assert.equal(p.of('192.0.2.1'), 1);
  assert.ok([...live.values()].includes('192.0.2.1'));
  // A second member from the same address (it holds one): refused, no flooder holds two more.
  assert.equal(p.admit('192.0.2.1'), undefined);
});

test('refusals: evictions are counted apart in the summary, by their flag, never by their wording', async () => {
  const events = new EventEmitter();
  const keepAlive = setInterval(() => {}, 1000);
  const reporter = new RefusalReporter(1, 50, () => {}, (s) => events.emit('summary', s));
  reporter.report({ address: '10.0.0.1', code: 'link.timeout', message: 'shown one by one' });
  for (let i = 0; i < 6; i++) reporter.report({ address: '10.0.0.2', code: 'link.busy', message: evictionMessage('10.0.0.2:1000', 4, '127.0.0.1'), evicted: true });
  for (let i = 0; i < 3; i++) reporter.report({ address: '10.0.0.3', code: 'link.busy', message: 'closed a connection from 10.0.0.3:1 at once' });
  // Worded like an eviction but not flagged as one (a peer's text, say): not counted as one.
  reporter.report({ address: '10.0.0.5', code: 'link.busy', message: evictionMessage('10.0.0.5:1', 4, '127.0.0.1') });
  reporter.report({ address: '10.0.0.4', code: 'link.wrong_user', message: 'evicted the handshake of me' });
  const [summary] = (await once(events, 'summary')) as [RefusalSummary];
  assert.equal(summary.count, 11);
  assert.deepEqual(summary.codes, [['link.busy', 10], ['link.wrong_user', 1]]);
  assert.equal(summary.evicted, 6);
  assert.match(summary.message, /\(10 link\.busy, 1 link\.wrong_user; 6 of them evicted to make room for other addresses\)/);
  reporter.close();
  clearInterval(keepAlive);
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

test('key lookups: over the budget a coded error link.busy, and a tracker error is not cached', async () => {
  let fail = true;
  const gate = new KeyLookupGate(() => undefined, async () => {
    if (fail) throw new Error('tracker down');
    return undefined;
  }, resolveLimits({ lookupBurstPerAddress: 2, lookupPerSecondPerAddress: 0, lookupBurstTotal: 10, lookupPerSecondTotal: 0 }));
  await assert.rejects(gate.lookup('bob', 'x'), /tracker down/);
  fail = false;
  assert.equal(await gate.lookup('bob', 'x'), undefined); // asked again: the error was not remembered
  await assert.rejects(gate.lookup('carol', 'x'), (e: unknown) => isCoded(e, 'link.busy'));
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
