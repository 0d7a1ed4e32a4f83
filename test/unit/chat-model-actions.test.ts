// extension/chat-model.ts and extension/conversation-actions.ts over real engines, a real tracker
// and real links (issue 12): a reply carries a quote of what it answers; reactions, edits and
// deletes reach the other member's view as the whole message recomputed, quotes follow the
// original, and a deleted message's text leaves the host; history pages carry it all; a window
// around a message far back and newer pages from it; search results are titled by conversation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToView, TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import { ConversationActions } from '../../extension/conversation-actions.ts';
import { roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt } from '../helpers/chat-model-scene.ts';

const SLOW = { timeout: 180_000 };

type Updated = Extract<HostToView, { type: 'message/updated' }>;
type Added = Extract<HostToView, { type: 'timeline/added' }>;
type Opened = Extract<HostToView, { type: 'conversation/opened' }>;

async function viewOf(engine: TestEngine) {
  const posted: HostToView[] = [];
  const model: ChatModel = new ChatModel({ post: (m) => posted.push(m), attention: () => lookingAt(model.openKey), notify: () => {} }, 'tracker');
  model.attach(engine);
  await model.signedIn(engine);
  const actions = new ConversationActions({ engine: () => engine, model, reveal: async () => {}, post: (m) => posted.push(m) });
  const updates = (id: string) => posted.filter((m): m is Updated => m.type === 'message/updated' && m.message.id === id).map((m) => m.message);
  const added = (id: string) => posted.find((m): m is Added => m.type === 'timeline/added' && m.item.id === id)?.item as TimelineMessage | undefined;
  const opened = () => posted.filter((m): m is Opened => m.type === 'conversation/opened').at(-1)!;
  return { model, actions, posted, updates, added, opened };
}

/** bob sends `first`, then `more` messages `text(i)` (i from 1) to room `id`; resolves with `first`'s answer once alice has them all. */
async function bobSends(alice: TestEngine, bob: TestEngine, id: string, first: string, more: number, text: (i: number) => string) {
  const arrived = new Promise<void>((resolve) => {
    let n = 0;
    alice.on('message', (m) => m.roomId === id && ++n === more + 1 && resolve());
  });
  const sent = await bob.sendRoom(id, first);
  for (let i = 1; i <= more; i++) await bob.sendRoom(id, text(i));
  await arrived;
  return sent;
}

test('reply, react, edit and delete: quotes, reactions with "mine", "edited", and "message deleted" whose text leaves the host', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const { alice, bob } = engines;
  const a = await viewOf(alice);
  const b = await viewOf(bob);
  await a.model.openConversation(id);
  await b.model.openConversation(id);

  const arrived = waitFor(bob, 'message', (m) => m.text === 'the build is green on main');
  const sent = await alice.sendRoom(id, 'the build is green on main');
  a.model.addOwnMessage(id, { ...sent, text: 'the build is green on main' });
  await arrived;

  // bob answers it: his own row and alice's carry a quote of the original.
  const replyArrives = waitFor(alice, 'message', (m) => m.replyTo === sent.id);
  await b.actions.reply(id, sent.id, 'great, merging now');
  const reply = await replyArrives;
  const quote = { id: sent.id, from: 'alice', excerpt: 'the build is green on main' };
  assert.deepEqual(b.added(reply.id)?.replyTo, quote, "bob's own reply shows the quote at once");
  assert.deepEqual(a.added(reply.id)?.replyTo, quote, "alice's view gets the reply with its quote");

  // bob reacts: the whole message, mine for bob, not for alice.
  const reacted = waitFor(alice, 'reaction', (e) => e.id === sent.id);
  await b.actions.react(id, sent.id, '👍', true);
  await reacted;
  assert.deepEqual(b.updates(sent.id).at(-1)?.reactions, [{ emoji: '👍', users: ['bob'], mine: true }]);
  const atAlice = a.updates(sent.id).at(-1)!;
  assert.deepEqual(atAlice.reactions, [{ emoji: '👍', users: ['bob'], mine: false }]);
  assert.equal(atAlice.delivered?.of, 1, "alice's own message keeps its delivery count");
  assert.equal(atAlice.text, 'the build is green on main');

  // alice edits: "edited" everywhere, and bob's reply quotes the new text.
  const edited = waitFor(bob, 'edited', (e) => e.id === sent.id);
  await a.actions.edit(id, sent.id, 'the build is red again');
  await edited;
  assert.equal(a.updates(sent.id).at(-1)?.edited, true);
  const atBob = b.updates(sent.id).at(-1)!;
  assert.deepEqual([atBob.text, atBob.edited, atBob.reactions?.[0]?.mine], ['the build is red again', true, true]);
  assert.deepEqual(b.updates(reply.id).at(-1)?.replyTo, { id: sent.id, from: 'alice', excerpt: 'the build is red again' });

  // alice deletes: "message deleted", and neither text is anywhere in bob's host any more.
  const deleted = waitFor(bob, 'deleted', (e) => e.id === sent.id);
  await a.actions.remove(id, sent.id);
  await deleted;
  const gone = b.updates(sent.id).at(-1)!;
  assert.deepEqual([gone.deleted, gone.text, gone.snippet, gone.reactions], [true, '', undefined, undefined]);
  assert.deepEqual(b.updates(reply.id).at(-1)?.replyTo, { id: sent.id, from: 'alice', deleted: true });
  await b.model.openConversation(id);
  const shown = JSON.stringify(b.opened());
  assert.ok(!shown.includes('red again') && !shown.includes('green on main'), `bob's timeline still holds the text: ${shown}`);
  assert.equal(a.updates(sent.id).at(-1)?.deleted, true, "alice's own delete is shown at once");

  // Someone else's message cannot be edited: the engine refuses, and nothing changes in the view.
  const before = a.posted.length;
  await assert.rejects(a.actions.edit(id, reply.id, 'not mine to change'), (err: { code?: string }) => err.code === 'message.not_author');
  assert.equal(a.posted.slice(before).some((m) => m.type === 'message/updated'), false);
});

test('history pages carry replies, reactions, edits and deletes; a window around a message far back, newer pages from it to the newest; search is titled by conversation', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'release');
  const { alice, bob } = engines;
  const total = 130;
  const first = await bobSends(alice, bob, id, 'the needle: ship on friday', total - 2, (i) => `status ${i}`);
  await bob.react({ room: id }, first.id, '🎉', true);
  const last = waitFor(alice, 'message', (m) => m.replyTo === first.id);
  await bob.reply({ room: id }, first.id, 'answering the needle');
  await last;

  const a = await viewOf(alice);
  await a.model.openConversation(id);
  const window = a.opened();
  const newest = window.timeline.at(-1) as TimelineMessage;
  assert.deepEqual(newest.replyTo, { id: first.id, from: 'bob', excerpt: 'the needle: ship on friday' }, 'a reply read from the store carries its quote');

  // A jump to the first message (a quote or a search result far back): a window around it, read from the store.
  const around = await a.model.aroundPage(id, first.id);
  const messages = (items: TimelineItem[]) => items.filter((i): i is TimelineMessage => i.kind === 'message');
  assert.equal(messages(around.items)[0]!.id, first.id, 'nothing before the first message');
  assert.deepEqual([around.around, around.more, around.newer], [first.id, false, true]);
  assert.deepEqual(messages(around.items)[0]!.reactions, [{ emoji: '🎉', users: ['bob'], mine: false }], 'a window carries reactions');
  // Newer pages from there reach the window held here: every message once, in order, up to the newest.
  const seen = messages(around.items).map((m) => m.id);
  let after = seen.at(-1)!;
  for (let newer = true; newer; ) {
    const page = await a.model.newerPage(id, after);
    assert.equal(page.after, after);
    seen.push(...messages(page.items).map((m) => m.id));
    newer = page.newer === true;
    after = seen.at(-1)!;
  }
  assert.equal(seen.length, total);
  assert.equal(new Set(seen).size, total, 'none twice');
  assert.equal(seen.at(-1), newest.id, 'up to the newest');
  // Around a message the window holds: from a few before it to the newest, nothing newer.
  const near = await a.model.aroundPage(id, newest.id);
  assert.deepEqual([near.newer, messages(near.items).at(-1)!.id], [false, newest.id]);

  await assert.rejects(a.model.aroundPage(id, 'no-such-message'), (err: Error & { code?: string }) =>
    err.code === 'message.not_found' && /not in this conversation's history on this device/.test(err.message));

  const found = await a.actions.search('needle');
  assert.equal(found.searchedFrom, undefined, 'the index is not full: nothing says older messages were skipped');
  assert.deepEqual(
    found.results.map((h) => [h.key, h.title, h.id, h.from]),
    [
      [id, 'release', newest.id, 'bob'],
      [id, 'release', first.id, 'bob'],
    ],
    'newest first, titled by the room',
  );
});

test('a search result 1,200 messages back opens at it: one window around it, newer pages from there, and the view back at the newest', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'ops');
  const { alice, bob } = engines;
  const after = 1200;
  const needle = await bobSends(alice, bob, id, 'the pelican migration is on hold', after, (i) => `routine ${i}`);

  const a = await viewOf(alice);
  const [hit] = (await a.actions.search('pelican')).results;
  assert.equal(hit?.id, needle.id);
  await a.actions.open(hit.key, hit.id);
  assert.deepEqual(a.posted.at(-1), { type: 'message/revealed', key: id, id: needle.id }, 'the view is told to show it');
  // What the view then asks: a window around it (the old way read back at most 20 pages of 50).
  const started = performance.now();
  const around = await a.model.aroundPage(id, needle.id);
  const tookMs = performance.now() - started;
  const ids = (items: TimelineItem[]) => items.filter((i): i is TimelineMessage => i.kind === 'message').map((m) => m.id);
  assert.equal(ids(around.items)[0], needle.id, 'the found message, with nothing older');
  assert.equal(around.newer, true);
  assert.ok(around.items.length <= 61, `${around.items.length} items: one window, not the ${after} after it`);
  const next = await a.model.newerPage(id, ids(around.items).at(-1)!);
  assert.equal((next.items[0] as TimelineMessage).text, `routine ${ids(around.items).length}`, 'newer pages go on right after it');
  t.diagnostic(`window around a message ${after} back: ${around.items.length} items in ${tookMs.toFixed(1)} ms`);
});
