// A snippet's `wholeLines` crosses from one member to another (protocol/peer.ts snippetSchema):
// between real engines over loopback with a real tracker, bob's `message` event and both members'
// history (their SQLite stores) say whether the code is whole lines, which is what lets bob's code
// thread say "changed" after `retries = 3` became `retries = 30` (extension/snippet-anchor.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorSnippet } from '../../extension/snippet-anchor.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { registered, waitFor } from '../helpers/engines.ts';

test('wholeLines reaches the other member and both histories; a selection inside a line arrives without it', { timeout: 180_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const { id } = await alice.createRoom('retries');
  const joined = waitFor(alice, 'member_joined', (e) => e.roomId === id && e.user === 'bob');
  await bob.joinRoom(id);
  await joined;

  const whole = { language: 'python', path: 'src/retry.py', startLine: 10, endLine: 10, code: 'retries = 3', wholeLines: true };
  const part = { language: 'python', path: 'src/retry.py', startLine: 10, endLine: 10, code: '3' };
  const gotWhole = waitFor(bob, 'message', (m) => m.text === 'whole line');
  const gotPart = waitFor(bob, 'message', (m) => m.text === 'part of a line');
  await alice.sendRoom(id, 'whole line', whole);
  await alice.sendRoom(id, 'part of a line', part);
  assert.deepEqual((await gotWhole).snippet, whole);
  assert.deepEqual((await gotPart).snippet, part);

  for (const engine of [alice, bob]) {
    const { messages } = await engine.history({ room: id });
    assert.deepEqual(messages.map((m) => m.snippet), [whole, part], `${engine.user}'s history`);
  }
  // What bob's thread makes of the snippet he received, once the line was edited.
  const edited = [...Array.from({ length: 9 }, (_, i) => `# ${i}`), 'retries = 30'];
  assert.equal(anchorSnippet(edited, (await gotWhole).snippet!).state, 'changed');
});
