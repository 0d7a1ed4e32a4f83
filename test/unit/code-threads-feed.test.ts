// After a reload the code threads are fed each conversation's newest snippet messages however far
// back they are (extension/code-threads-feed.ts feedNewest, History.withSnippets), not only what
// the newest 200 messages hold: a snippet shared 200 messages ago keeps its thread. Real engines
// over a real tracker and loopback links.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatModel } from '../../extension/chat-model.ts';
import { THREAD_FEED_MESSAGES, feedNewest } from '../../extension/code-threads-feed.ts';
import type { TimelineMessage } from '../../protocol/view.ts';
import { roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test('feedNewest tells the code threads a snippet shared more than 200 messages back, and the newest replies', { timeout: 180_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const shared = waitFor(alice, 'message', (m) => m.text === 'why does this retry forever?');
  const s = await bob.sendRoom(id, 'why does this retry forever?', { language: 'ts', path: 'src/retry.ts', startLine: 3, endLine: 4, code: 'while (true) {\n  retry();' });
  await shared;
  const last = waitFor(alice, 'message', (m) => m.text === `chat ${THREAD_FEED_MESSAGES}`, 60_000);
  for (let i = 1; i <= THREAD_FEED_MESSAGES; i++) await bob.sendRoom(id, `chat ${i}`);
  await last;
  const model = new ChatModel({ post: () => {}, attention: () => [], notify: () => {} }, 'tracker');
  model.attach(alice);
  await model.signedIn(alice);
  const told: TimelineMessage[] = [];
  const failures: unknown[] = [];
  const sink = { message: (_k: string, _t: string, m: TimelineMessage) => void told.push(m), updated() {}, forget() {}, clear() {} };
  await feedNewest(alice, model, sink, (_k, err) => failures.push(err));
  assert.deepEqual(failures, []);
  const snippet = told.filter((m) => m.snippet);
  assert.deepEqual(snippet.map((m) => m.id), [s.id], 'the snippet message made a thread');
  assert.equal(snippet[0]!.snippet!.code, 'while (true) {\n  retry();');
  // The newest page still goes out (replies hang on threads): its newest message is told, last.
  assert.equal(told.at(-1)!.text, `chat ${THREAD_FEED_MESSAGES}`);
  assert.equal(told.filter((m) => !m.snippet).length, THREAD_FEED_MESSAGES);
});
