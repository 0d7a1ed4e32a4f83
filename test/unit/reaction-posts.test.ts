// Reaction toggles cost the view little (extension/message-updates.ts REACTION_WINDOW_MS): each
// post is the whole message, so a member toggling an emoji on a 60 KB message as fast as they can
// made every member's extension post it once per toggle (200 toggles: 12 MB). Now at most one post
// per message per window, the state at its end: nothing lost. ChatModel over real engines, a real
// tracker and real links.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToView, TimelineMessage } from '../../protocol/view.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import { REACTION_WINDOW_MS } from '../../extension/message-updates.ts';
import { roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt } from '../helpers/chat-model-scene.ts';

type Updated = Extract<HostToView, { type: 'message/updated' }>;

test('toggling a reaction on a long message many times posts it at most once per window, ending on the last state', { timeout: 180_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const posts: TimelineMessage[] = [];
  const threadUpdates: TimelineMessage[] = [];
  let settled: (() => void) | undefined;
  const N = 61; // odd: bob's 👍 is on at the end; then his 🎉 marks the end (it arrives last: one sender, in order)
  const has = (m: TimelineMessage, emoji: string) => m.reactions?.some((r) => r.emoji === emoji && r.users.includes('bob')) === true;
  const isFinal = (m: TimelineMessage) => has(m, '👍') && has(m, '🎉');
  const model: ChatModel = new ChatModel({
    post: (m) => {
      if (m.type !== 'message/updated') return;
      posts.push((m as Updated).message);
      if (has((m as Updated).message, '🎉')) settled?.();
    },
    attention: () => lookingAt(model.openKey),
    notify: () => {},
    threads: () => ({ message() {}, updated: (_k, m) => void threadUpdates.push(m), forget() {}, clear() {} }),
  }, 'tracker');
  model.attach(alice);
  await model.signedIn(alice);
  const big = `${'x '.repeat(30_000)}end`;
  const got = waitFor(alice, 'message', (m) => m.text.endsWith('end'));
  const m = await bob.sendRoom(id, big);
  await got;
  await model.openConversation(id);
  const done = new Promise<void>((resolve) => (settled = resolve));
  const t0 = Date.now();
  for (let i = 0; i < N; i++) await bob.react({ room: id }, m.id, '👍', i % 2 === 0);
  await bob.react({ room: id }, m.id, '🎉', true);
  await done;
  const took = Date.now() - t0;
  const mine = posts.filter((p) => p.id === m.id);
  // One at once, then at most one per window that had more.
  assert.ok(mine.length <= Math.ceil(took / REACTION_WINDOW_MS) + 1, `${mine.length} posts in ${took} ms`);
  assert.ok(mine.length < N / 2, `${mine.length} posts for ${N + 1} reactions`);
  assert.ok(isFinal(mine.at(-1)!), 'the last post shows the last state');
  assert.ok(isFinal(threadUpdates.at(-1)!), 'and so do the code threads');
  assert.equal(mine.at(-1)!.text, big);
  t.diagnostic(`${N} toggles in ${took} ms: ${mine.length} posts, ${(JSON.stringify(mine).length / 1e6).toFixed(2)} MB`);
});
