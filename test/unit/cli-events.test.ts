// peer/cli-events.ts on its own: engine events reach the printer as peer text, quiet ones only
// when verbose, and a connection line only when the link's state before makes it news.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printEvents } from '../../peer/cli-events.ts';
import { PeerText } from '../../peer/terminal.ts';
import { makeEngine } from '../helpers/engines.ts';

// An engine that never connects: only its events are used (nothing listens on port 1).
const NOWHERE = { host: '127.0.0.1', port: 1 };

test('events print as peer text; delivery and typing only when verbose; connection news only', async (t) => {
  for (const verbose of [false, true]) {
    // The test emits an error event itself, to see it printed.
    const engine = await makeEngine(t, NOWHERE, { expectErrors: ['internal'] });
    const printed: string[] = [];
    printEvents(engine, (line) => {
      assert.ok(line instanceof PeerText);
      printed.push(line.text);
    }, verbose);
    engine.emit('message', { room: 'general', roomId: 'r1', from: 'bob', id: 'm1', text: 'hi\n[dm] eve: no', sentAt: 0, direct: false });
    engine.emit('delivered', { room: 'general', roomId: 'r1', id: 'm1', count: 1, of: 1 });
    engine.emit('typing', { room: 'general', roomId: 'r1', user: 'bob', active: true });
    engine.emit('ready', { port: 4000 });
    engine.emit('directory_changed', { rooms: [] });
    engine.emit('connection', { state: 'connecting', detail: 'connecting to 127.0.0.1:1' });
    engine.emit('connection', { state: 'online', detail: 'online' });
    engine.emit('connection', { state: 'reconnecting', detail: 'lost the tracker; retrying' });
    engine.emit('connection', { state: 'online', detail: 'back online' });
    engine.emit('error', { code: 'internal', message: 'x\x1b[2J' });
    assert.deepEqual(printed, [
      '[general] bob: hi\n  [dm] eve: no',
      ...(verbose ? ['[general] delivered to 1 of 1', '[general] bob is typing...'] : []),
      '* tracker: lost the tracker; retrying',
      '* tracker: back online',
      '! x^[[2J',
    ]);
  }
});

test('a reaction or an edit names a message shown in this run by its first line; a deleted one only by its id', async (t) => {
  const engine = await makeEngine(t, NOWHERE);
  const printed: string[] = [];
  printEvents(engine, (line) => printed.push(line.text), false);
  const at = { room: 'general', roomId: 'r1', id: 'm1' };
  engine.emit('message', { ...at, from: 'alice', text: 'teh fix is in\nsecond line', sentAt: 0, direct: false });
  engine.emit('reaction', { ...at, user: 'bob', emoji: '👍', on: true });
  engine.emit('edited', { ...at, text: 'the fix is in' });
  engine.emit('reaction', { ...at, user: 'bob', emoji: '👍', on: false });
  engine.emit('deleted', at);
  engine.emit('reaction', { ...at, user: 'carol', emoji: '🎉', on: true });
  // Never seen in this run (history before it): named by id.
  engine.emit('reaction', { ...at, id: 'm0', user: 'bob', emoji: '👀', on: true });
  assert.deepEqual(printed.slice(1), [
    '[general] * bob reacted 👍 to "alice: teh fix is in"',
    '[general] * "alice: teh fix is in" edited: the fix is in',
    '[general] * bob took back 👍 on "alice: the fix is in"',
    '[general] * message m1 deleted by its author',
    '[general] * carol reacted 🎉 to message m1',
    '[general] * bob reacted 👀 to message m0',
  ]);
});
