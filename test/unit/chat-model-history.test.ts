// extension/chat-model.ts on the engine's history store, with real engines, a real tracker and
// real links: a conversation opens on its newest page, older pages come back page by page until
// there are no more, a reloaded model (and a restarted engine) shows the same history; a message
// to a member who is away shows "waiting for" them (also after a reload), then delivered when they
// come back. And extension/timelines.ts on its own: order, late arrivals, a bounded window.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HISTORY_PAGE_DEFAULT } from '../../protocol/client.ts';
import type { HostToView, TimelineMessage } from '../../protocol/view.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import { KEEP_ITEMS, MAX_ITEMS, TimelineStore } from '../../extension/timelines.ts';
import { makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt } from '../helpers/chat-model-scene.ts';

const SLOW = { timeout: 180_000 };

type Opened = Extract<HostToView, { type: 'conversation/opened' }>;

function modelFor(engine: TestEngine) {
  const posted: HostToView[] = [];
  const model: ChatModel = new ChatModel({ post: (m) => posted.push(m), attention: () => lookingAt(model.openKey), notify: () => {} }, 'tracker');
  model.attach(engine);
  const opened = () => posted.filter((m): m is Opened => m.type === 'conversation/opened').at(-1)!;
  return { model, posted, opened };
}

const idsOf = (items: readonly { id: string }[]) => items.map((i) => i.id);

test('a conversation opens on its newest page from the store, pages back to its first message, and a reload shows the same', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const total = 2 * HISTORY_PAGE_DEFAULT + 20;
  const sent: string[] = [];
  const all = new Promise<void>((resolve) => {
    let n = 0;
    alice.on('message', (m) => m.roomId === id && ++n === total && resolve());
  });
  for (let i = 0; i < total; i++) sent.push((await bob.sendRoom(id, `note ${i}`)).id);
  await all;

  const first = modelFor(alice);
  await first.model.signedIn(alice);
  await first.model.openConversation(id);
  const opened = first.opened();
  assert.deepEqual(idsOf(opened.timeline), sent.slice(-HISTORY_PAGE_DEFAULT), 'the newest page, oldest first');
  assert.equal(opened.more, true);
  let before = opened.timeline[0]!.id;
  const page2 = await first.model.olderPage(id, before);
  assert.deepEqual(idsOf(page2.items), sent.slice(-2 * HISTORY_PAGE_DEFAULT, -HISTORY_PAGE_DEFAULT));
  assert.equal(page2.more, true);
  before = page2.items[0]!.id;
  const page3 = await first.model.olderPage(id, before);
  assert.deepEqual(idsOf(page3.items), sent.slice(0, 20));
  assert.equal(page3.more, false, 'the first message reached');
  assert.ok(page3.items.every((m) => m.kind === 'message' && m.from === 'bob' && !m.mine));

  // The window is reloaded (a new model) and the engine restarted on its data folder.
  await alice.close();
  const again = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  assert.equal(await again.resume(), true);
  const second = modelFor(again);
  await second.model.signedIn(again);
  await second.model.openConversation(id);
  assert.deepEqual(idsOf(second.opened().timeline), sent.slice(-HISTORY_PAGE_DEFAULT), 'the same newest page after the restart');
  assert.deepEqual((second.opened().timeline.at(-1) as TimelineMessage).text, `note ${total - 1}`);
});

test('my message to a member who is away: waiting for bob (also after a reload), then delivered when bob comes back', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'pair');
  const { alice, bob } = engines;
  const gone = waitFor(alice, 'presence', (p) => p.user === 'bob' && !p.online);
  await bob.close();
  await gone;

  const { model, posted, opened } = modelFor(alice);
  await model.signedIn(alice);
  await model.openConversation(id);
  const waitingPosted = waitFor(alice, 'waiting', (w) => w.waitingFor.includes('bob'));
  const sent = await alice.sendRoom(id, 'are you there?');
  model.addOwnMessage(id, { ...sent, text: 'are you there?' });
  await waitingPosted;
  assert.deepEqual(
    posted.filter((m) => m.type === 'message/waiting'),
    [{ type: 'message/waiting', key: id, id: sent.id, waitingFor: ['bob'] }],
  );
  await model.openConversation(id);
  const mine = opened().timeline.find((i) => i.id === sent.id) as TimelineMessage;
  assert.deepEqual(mine.waitingFor, ['bob'], 'the window holds the waiting state');

  // A reloaded window: the message comes from the store, still waiting for bob.
  const reloaded = modelFor(alice);
  await reloaded.model.signedIn(alice);
  await reloaded.model.openConversation(id);
  const stored = reloaded.opened().timeline.find((i) => i.id === sent.id) as TimelineMessage;
  assert.equal(stored.mine, true);
  assert.deepEqual(stored.waitingFor, ['bob'], 'history carries who it waits for');

  const delivered = waitFor(alice, 'delivered', (d) => d.id === sent.id && d.count === d.of, 30_000);
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  assert.equal(await bob2.resume(), true);
  await delivered;
  for (const m of [model, reloaded.model]) await m.openConversation(id);
  for (const o of [opened(), reloaded.opened()]) {
    const item = o.timeline.find((i) => i.id === sent.id) as TimelineMessage;
    assert.equal(item.waitingFor, undefined, 'nobody is waited for any more');
    assert.equal(item.delivered?.count, item.delivered?.of);
  }
  assert.ok(posted.some((m) => m.type === 'message/delivered' && m.id === sent.id && m.count === m.of));
});

const msg = (id: string, from: string, sentAt: number, patch: Partial<TimelineMessage> = {}): TimelineMessage => ({ kind: 'message', id, from, text: id, sentAt, mine: false, mentionsMe: false, ...patch });

test('timelines: live items sort in by (time, sender), equals as they came; a late one lands in place; one older than the window is left to its page; a state change before its message waits for it; the window stays bounded', async () => {
  const pages: { items: TimelineMessage[]; more: boolean; newer: boolean }[] = [{ items: [msg('a', 'bob', 10), msg('c', 'carol', 30)], more: true, newer: false }];
  let reads = 0;
  const store = new TimelineStore();
  store.use({ page: async () => (reads++, pages[0]!) });
  // Arrives while the first page is read: kept, and not doubled by the page.
  const loading = store.load('r');
  assert.equal(store.add('r', msg('c', 'carol', 30)), true);
  await Promise.all([loading, store.load('r')]);
  assert.equal(reads, 1, 'read once');
  assert.deepEqual(idsOf(store.items('r')), ['a', 'c']);
  assert.equal(store.add('r', msg('b2', 'dave', 20, { late: true })), true);
  assert.equal(store.add('r', msg('b1', 'carol', 20, { late: true })), true);
  assert.equal(store.add('r', msg('old', 'bob', 1, { late: true })), true, 'told to the view');
  assert.equal(store.add('r', msg('a', 'bob', 10)), false, 'a duplicate');
  assert.deepEqual(idsOf(store.items('r')), ['a', 'b1', 'b2', 'c'], 'b1 before b2 by sender; "old" waits for its page');
  assert.equal(store.status('r', 'b1', { kind: 'waiting', waitingFor: ['x'] }), true);
  assert.equal(store.status('r', 'b1', { kind: 'expired', user: 'x' }), true);
  assert.deepEqual((store.items('r')[1] as TimelineMessage).notDelivered, ['x']);
  assert.equal((store.items('r')[1] as TimelineMessage).waitingFor, undefined);

  for (let i = 0; i < MAX_ITEMS; i++) store.add('r', msg(`n${i}`, 'bob', 100 + i));
  assert.ok(store.items('r').length <= MAX_ITEMS && store.items('r').length >= KEEP_ITEMS, `${store.items('r').length} items`);
  assert.equal(store.items('r').at(-1)!.id, `n${MAX_ITEMS - 1}`, 'the newest stay');
  assert.equal(store.more('r'), true);
  // My send's answer may come after its first `waiting`: the change waits for the message.
  assert.equal(store.status('r', 'mine', { kind: 'waiting', waitingFor: ['bob'] }), false);
  store.add('r', msg('mine', 'alice', 10_000, { mine: true, delivered: { count: 0, of: 1 } }));
  assert.deepEqual((store.items('r').at(-1) as TimelineMessage).waitingFor, ['bob']);
  assert.deepEqual(store.gap('r', 'carol', 12), [{ from: 'carol', missing: 12 }]);
  assert.deepEqual(store.gap('r', 'carol', 0), []);
});
