// test/helpers/engines.ts on its own: an engine made for a test records its error events, and
// its teardown fails on one the test did not declare, after every teardown step ran. The steps
// run here by hand, from a stand-in for the test's `after`, so no real test fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowErrors, collect, expectErrors, makeEngine, unexpectedErrors, waitFor } from '../helpers/engines.ts';

// Engines that never connect: only their events are used (nothing listens on port 1).
const NOWHERE = { host: '127.0.0.1', port: 1 };

function fakeTest() {
  const hooks: (() => unknown)[] = [];
  return {
    after: (fn: () => unknown) => void hooks.push(fn),
    hooks,
    /** Runs the steps as node:test does: in order, also those added meanwhile, until one throws. */
    async teardown(): Promise<void> {
      for (let i = 0; i < hooks.length; i++) await hooks[i]();
    },
  };
}

test('an undeclared error fails the teardown, after every step ran and every engine closed', async () => {
  const t = fakeTest();
  const engine = await makeEngine(t, NOWHERE);
  const other = await makeEngine(t, NOWHERE);
  engine.emit('error', { code: 'link.timeout', message: 'bob did not answer' });
  assert.deepEqual(unexpectedErrors(engine), [{ code: 'link.timeout', message: 'bob did not answer' }]);
  assert.deepEqual(unexpectedErrors(other), []);
  const closed: string[] = [];
  for (const [name, e] of [['engine', engine], ['other', other]] as const) {
    const close = e.close.bind(e);
    e.close = async () => {
      closed.push(name);
      await close();
    };
  }
  let laterStep = false;
  t.after(() => (laterStep = true));
  await assert.rejects(t.teardown(), (err: Error) => err.name === 'AssertionError' && /emitted 1 error event.*\n  link\.timeout: bob did not answer/.test(err.message));
  assert.deepEqual(closed, ['engine', 'other']);
  assert.ok(laterStep, 'the steps after the failing engine\'s still ran');
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

  // The teardown fails with a's and d's undeclared errors, both in one report.
  await assert.rejects(t.teardown(), (err: Error) => /link\.closed: not declared/.test(err.message) && /internal: other/.test(err.message) && !/anything|evicted/.test(err.message));
});

test('errors emitted after teardown began are not recorded, for every engine of the test', async () => {
  const t = fakeTest();
  const a = await makeEngine(t, NOWHERE);
  const b = await makeEngine(t, NOWHERE);
  a.emit('error', { code: 'link.refused', message: 'during the test' });
  await t.hooks[0]();
  b.emit('error', { code: 'link.closed', message: 'a went away' });
  assert.deepEqual(unexpectedErrors(b), []);
  await t.hooks[1]();
  assert.deepEqual(unexpectedErrors(a), [{ code: 'link.refused', message: 'during the test' }]);
});
