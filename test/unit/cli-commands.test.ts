// peer/cli-commands.ts on its own: failures become codes by their type or code, never by their
// wording; the COMMANDS table is the one list of commands; typed results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, describeError, findCommand, runCommand } from '../../peer/cli-commands.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { makeEngine } from '../helpers/engines.ts';

// Nothing listens on port 1 of the loopback: connecting is refused at once.
const NOWHERE = { host: '127.0.0.1', port: 1 };

test('describeError: tracker codes come from the error, not its message', async (t) => {
  const engine = await makeEngine(t, NOWHERE);
  const untrusted = describeError(Object.assign(new Error('declined'), { code: 'tracker.untrusted' }), engine);
  assert.deepEqual(untrusted, { code: 'tracker.untrusted', message: 'declined; run the command again and answer y to trust it' });
  const timedOut = describeError(Object.assign(new Error('no answer within 10 ms'), { code: 'tracker.unreachable' }), engine);
  assert.equal(timedOut.code, 'tracker.unreachable');
  assert.match(timedOut.message, /^cannot reach the tracker at 127\.0\.0\.1:1 \(no answer within 10 ms\): start it with `node tracker`/);
  // The old wording alone no longer decides anything.
  assert.equal(describeError(new Error('you did not trust the tracker at x'), engine).code, 'internal');
  assert.equal(describeError(new Error('could not reach the tracker at x'), engine).code, 'internal');
  assert.deepEqual(describeError(new ProtocolError('room.not_found', 'no room x'), engine), { code: 'room.not_found', message: 'no room x' });
});

test('describeError passes on only declared codes; anything else is internal, with its message', async (t) => {
  const engine = await makeEngine(t, NOWHERE);
  // Shaped like a code, but declared nowhere: not passed on.
  assert.deepEqual(describeError(Object.assign(new Error('odd'), { code: 'looks.like_one' }), engine), { code: 'internal', message: 'odd' });
  assert.deepEqual(describeError(Object.assign(new Error('db'), { code: 'sqlite_busy' }), engine), { code: 'internal', message: 'db' });
  assert.deepEqual(describeError('plain', engine), { code: 'internal', message: 'plain' });
  // Client-side codes come from the one class too.
  assert.deepEqual(describeError(new ProtocolError('auth.weak_password', 'too short', { details: { problem: 'too_short' } }), engine),
    { code: 'auth.weak_password', message: 'too short' });
  assert.equal(describeError(new ProtocolError('session.ended', 'x'), engine).code, 'session.ended');
  const mismatch = describeError(new ProtocolError('tracker.fingerprint_mismatch', 'another certificate', { details: { expected: 'AA', actual: 'BB' } }), engine);
  assert.equal(mismatch.code, 'tracker.fingerprint_mismatch');
  assert.match(mismatch.message, /^another certificate\nThe terminal client keeps its pins in .*known-trackers\.json/);
  // A socket failure of Node's (errno code) is the tracker being out of reach.
  assert.equal(describeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), engine).code, 'tracker.unreachable');
});

test('a tracker that refuses the connection is tracker.unreachable', async (t) => {
  const engine = await makeEngine(t, NOWHERE);
  const err = await runCommand(engine, { cmd: 'login', user: 'alice', password: 'plum kettle orbit 93 lantern' }).then(
    () => assert.fail('logged in to nothing'),
    (e: unknown) => e,
  );
  assert.equal(describeError(err, engine).code, 'tracker.unreachable');
});

test('typed results: help lists the COMMANDS table; logout needs a login', async (t) => {
  const engine = await makeEngine(t, NOWHERE);
  const { commands } = await runCommand(engine, { cmd: 'help' });
  assert.deepEqual(commands.map((c) => c.cmd), COMMANDS.map((c) => c.name));
  assert.deepEqual(await runCommand(engine, { cmd: 'exit' }), {});
  await assert.rejects(runCommand(engine, { cmd: 'logout' }), (e: unknown) => e instanceof ProtocolError && e.code === 'auth.required');
  assert.equal(findCommand('kick')?.usage, 'kick ROOM USER');
  assert.equal(findCommand('__proto__'), undefined, 'a typed word is looked up in a Map, not an object');
  assert.equal(findCommand('typing')?.jsonOnly, true);
});
