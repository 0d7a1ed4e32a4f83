// The ChatModel scene of the read-state tests (chat-model-reads, chat-model-devices,
// chat-model-late-unread): alice and bob in #general over a real tracker, alice also signed in on
// a second device (her laptop), and extension/chat-model.ts ChatModels over real engines with
// their posts recorded.

import type { TestContext } from 'node:test';
import type { HostToView } from '../../protocol/view.ts';
import { ChatModel, type ModelHooks } from '../../extension/chat-model.ts';
import type { Attention } from '../../extension/attention.ts';
import type { ConversationId } from '../../protocol/peer.ts';
import { PASSWORD, makeEngine, roomOf, type TestEngine } from './engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from './tracker-process.ts';

export type Opened = Extract<HostToView, { type: 'conversation/opened' }>;

/** A model's posts, and the next one matching `match` (already posted ones do not count). */
export function postsOf() {
  const posted: HostToView[] = [];
  const waiting: { match: (m: HostToView) => boolean; done: (m: HostToView) => void }[] = [];
  const post = (m: HostToView) => {
    posted.push(m);
    for (const w of [...waiting]) if (w.match(m)) waiting.splice(waiting.indexOf(w), 1), w.done(m);
  };
  const next = (match: (m: HostToView) => boolean) => new Promise<HostToView>((done) => waiting.push({ match, done }));
  return { posted, post, next };
}

/**
 * The hooks' attention (extension/attention.ts) of a user looking at the newest messages of `key`
 * in a focused window's visible view; nobody looking when `key` is undefined.
 */
export function lookingAt(key: ConversationId | undefined): Attention[] {
  return key === undefined ? [] : [{ visible: true, focused: true, atNewest: key }];
}

/**
 * A ChatModel over `engine`, attached and signed in, its posts recorded: looked at by nobody and never
 * notifying unless `hooks` say otherwise; `tracker` is the key it shows for the tracker.
 * `opened()` is its latest `conversation/opened` post.
 */
export async function modelOf(engine: TestEngine, hooks: Partial<Omit<ModelHooks, 'post'>> = {}, tracker = 'tracker') {
  const { posted, post, next } = postsOf();
  const model = new ChatModel({ post, attention: () => [], notify: () => {}, ...hooks }, tracker);
  model.attach(engine);
  await model.signedIn(engine);
  const opened = () => posted.filter((m): m is Opened => m.type === 'conversation/opened').at(-1)!;
  return { model, posted, next, opened };
}

/**
 * A tracker; alice and bob in #general (`id`); `laptop`, alice's second device, logged in, which
 * bob has heard of (his listPeers answers after the tracker's push).
 */
export async function twoDevices(t: TestContext) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines as { alice: TestEngine; bob: TestEngine };
  const laptop = await makeEngine(t, tracker);
  await laptop.login('alice', PASSWORD);
  await bob.listPeers();
  return { tracker, id, alice, bob, laptop };
}
