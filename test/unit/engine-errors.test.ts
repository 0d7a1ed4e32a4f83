// test/helpers/engines.ts on its own: an engine made for a test records its error events, and
// its teardown step fails (before closing the engine) on one the test did not declare. The hooks
// run here by hand, from a stand-in for the test's `after`, so no real test fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowErrors, collect, expectErrors, makeEngine, unexpectedErrors, waitFor } from '../helpers/engines.ts';

// Engines that never connect: only their events are used (nothing listens on port 1).
const NOWHERE = { host: '127.0.0.1', port: 1 };

function fakeTest() {
  const hooks: (() => unknown)[] = [];
  return { after: (fn: () => unknown) => void hooks.push(fn), hooks };
}

test('an undeclared error fails the teardown check, which still closes the engine', async () => {
  const t = fakeTest();
  const engine = await makeEngine(t, NOWHERE);
  engine.emit('error', { code: 'link.timeout', message: 'bob did not answer' });
  assert.deepEqual(unexpectedErrors(engine), [{ code: 'link.timeout', message: 'bob did not answer' }]);
  let closed = false;
  const close = engine.close.bind(engine);
  engine.close = async () => {
    closed = true;
    await close();
  };
  await assert.rejects(async () => t.hooks[0](), (err: Error) => err.name === 'AssertionError' && /link\.timeout: bob did not answer/.test(err.message));
  assert.ok(closed);
});

test('declared errors pass: options, expectErrors (code and RegExp), allowErrors, collect and waitFor', async () => {
  const t = fakeTest();
  const a = await makeEngine(t, NOWHERE, { expectErrors: ['link.timeout', /message\.(bad_signature|key_used)/] });
  const b = await makeEngine(t, NOWHERE);
  const c = await makeEngine(t, NOWHERE);
  const d = await makeEngine(t, NOWHERE);
  a.emit('error', { code: 'link.timeout', message: 'x' });
  a.emit('error', { code: 'message.key_used', message: 'x' });
  a.emit('error', { code: 'message.bad_signature', message: 'x' });
  assert.deepEqual(unexpectedErrors(a), []);
  a.emit('error', { code: 'link.closed', message: 'not declared' });
  assert.deepEqual(unexpectedErrors(a), [{ code: 'link.closed', message: 'not declared' }]);

  // Mid-test declarations cover the engine's whole test, also errors emitted before them.
  b.emit('error', { code: 'tracker.unreachable', message: 'reconnecting' });
  b.emit('error', { code: 'internal', message: 'evicted a link' });
  expectErrors(b, ['tracker.unreachable']);
  allowErrors(b, (e) => /evicted/.test(e.message));
  assert.deepEqual(unexpectedErrors(b), []);

  const errors = collect(c, 'error');
  c.emit('error', { code: 'internal', message: 'anything' });
  assert.equal(errors.length, 1);
  assert.deepEqual(unexpectedErrors(c), []);

  const ended = waitFor(d, 'error', (e) => e.code === 'session.ended');
  d.emit('error', { code: 'session.ended', message: 'signed in elsewhere' });
  d.emit('error', { code: 'internal', message: 'other' });
  await ended;
  assert.deepEqual(unexpectedErrors(d), [{ code: 'internal', message: 'other' }]);

  // Only a's and d's teardown steps fail; the others pass and every engine is closed.
  const results = await Promise.allSettled(t.hooks.map((h) => h()));
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled', 'rejected']);
});

test('errors emitted after teardown began are not recorded, for every engine of the test', async () => {
  const t = fakeTest();
  const a = await makeEngine(t, NOWHERE);
  const b = await makeEngine(t, NOWHERE);
  await t.hooks[0]();
  b.emit('error', { code: 'link.closed', message: 'a went away' });
  assert.deepEqual(unexpectedErrors(b), []);
  await t.hooks[1]();
  assert.deepEqual(unexpectedErrors(a), []);
});
