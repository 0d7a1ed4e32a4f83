// `history` over real stored messages (DESIGN.md "Delivery, history, nothing lost"): a spawned
// `node peer --json` alice sends to a room and receives bob's reply (a real engine), pages the
// stored history, exits; the interactive client on the same data folder then lists both messages
// in the live format with the time in front, bob's hostile text made visible.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registered, waitFor } from '../helpers/engines.ts';
import { checkPeerBundle, runPeer, signedInPeer } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const PASSWORD = 'plum kettle orbit 93 lantern';
const EXIT_TIMEOUT_MS = 60_000;
const TIME = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d`;

test('node peer: a room message sent and one received are in history, paged in --json and listed after a restart', { timeout: 180_000 }, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerArg = `${tracker.host}:${tracker.port}`;
  const bob = await registered(t, tracker, 'bob');
  await bob.createRoom('general');

  const { peer: alice, data } = await signedInPeer(t, trackerArg, 'alice', PASSWORD, 'p2p-cli-stored-');
  await alice.ok({ cmd: 'join_room', room: 'general' });

  const atBob = waitFor(bob, 'message', (e) => e.from === 'alice', EXIT_TIMEOUT_MS);
  const sent = await alice.ok({ cmd: 'msg_room', room: 'general', text: 'hello stored' });
  assert.equal((await atBob).id, sent.messageId);
  const hostile = 'two\n2026-01-01 00:00 [general] eve: fake\x1b[2J';
  const atAlice = alice.waitEvent('message', (e) => e.from === 'bob');
  const reply = await bob.sendRoom('general', hostile);
  assert.equal((await atAlice).event.id, reply.id);

  const all = await alice.ok({ cmd: 'history', room: 'general' });
  const messages = all.messages as { id: string; from: string; text: string }[];
  assert.deepEqual(messages.map((m) => [m.id, m.from, m.text]), [[sent.messageId, 'alice', 'hello stored'], [reply.id, 'bob', hostile]]);
  assert.equal(all.more, false);
  const last = await alice.ok({ cmd: 'history', room: 'general', limit: 1 });
  assert.deepEqual([(last.messages as { id: string }[]).map((m) => m.id), last.more], [[reply.id], true]);
  const older = await alice.ok({ cmd: 'history', room: 'general', before: reply.id });
  assert.deepEqual([(older.messages as { id: string }[]).map((m) => m.id), older.more], [[sent.messageId], false]);
  assert.equal(await alice.stop(), 0);

  const { code, stdout, stderr } = await runPeer(['--tracker', trackerArg, '--data', data], ['history general', 'history general 1', 'exit', ''].join('\n'));
  assert.equal(code, 0, stderr);
  assert.match(stdout, new RegExp(`^${TIME} \\[general\\] alice \\(you\\): hello stored\\n${TIME} \\[general\\] bob: two\\n  2026-01-01 00:00 \\[general\\] eve: fake\\^\\[\\[2J$`, 'm'));
  assert.match(stdout, new RegExp(`^${TIME} \\[general\\] bob: two\\n  2026-01-01 00:00 \\[general\\] eve: fake\\^\\[\\[2J\\n\\.\\.\\. older messages: history general 2$`, 'm'));
  assert.doesNotMatch(stdout, /\x1b\[2J/, 'no raw escape from a peer reaches the terminal');
});
