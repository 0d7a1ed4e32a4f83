// extension/chat-model.ts with names that are also properties of every plain object (issue 7,
// item 1): rooms and users called `__proto__`, `constructor` and `tostring` get their own unread
// counts, timelines and people entries, against a real tracker and real engines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToView } from '../../protocol/view.ts';
import { ChatModel } from '../../extension/chat-model.ts';
import { registered, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { lookingAt } from '../helpers/chat-model-scene.ts';
import type { Attention } from '../../extension/attention.ts';

const SLOW = { timeout: 180_000 };
const ROOMS = ['__proto__', 'constructor', 'tostring'];

test('the extension model keeps rooms and users named __proto__, constructor, tostring apart: unread counts, timelines, people', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const me = await registered(t, tracker, 'tostring');
  const proto = await registered(t, tracker, '__proto__');
  const ctor = await registered(t, tracker, 'constructor');

  const posted: HostToView[] = [];
  const notified: string[] = [];
  const directs = new Map<string, string[]>();
  let looking = false;
  const hooks = {
    post: (m: HostToView) => posted.push(m),
    // Nobody looks at the chat until the rooms are opened below.
    attention: (): Attention[] => (looking ? lookingAt(model.openKey) : []),
    notify: (_kind: string, title: string) => notified.push(title),
    directs: { load: (user: string) => directs.get(user) ?? [], save: (user: string, keys: string[]) => directs.set(user, keys) },
  };
  const model: ChatModel = new ChatModel(hooks, `${tracker.host}:${tracker.port}`);
  model.attach(me);

  const ids = new Map<string, string>();
  for (const name of ROOMS) {
    const room = await me.createRoom(name);
    ids.set(name, room.id);
    for (const other of [proto, ctor]) {
      const joined = waitFor(me, 'member_joined', (e) => e.room === name && e.user === other.user, 30_000);
      await other.joinRoom(name);
      await joined;
    }
  }
  await model.signedIn(me);
  const titles = new Map(model.roomItems().map((r) => [r.key, r.title]));
  for (const name of ROOMS) assert.equal(titles.get(ids.get(name)!), name);

  // __proto__ writes once in each room, constructor twice with a mention, and both write directly.
  const arrived = (from: string, text: string) => waitFor(me, 'message', (e) => e.from === from && e.text === text, 30_000);
  for (const name of ROOMS) {
    let got = arrived('__proto__', `one in ${name}`);
    await proto.sendRoom(name, `one in ${name}`);
    await got;
    for (const n of [1, 2]) {
      got = arrived('constructor', `@tostring ${n} in ${name}`);
      await ctor.sendRoom(name, `@tostring ${n} in ${name}`);
      await got;
    }
  }
  for (const other of [proto, ctor]) {
    const got = arrived(other.user!, `direct from ${other.user}`);
    await other.sendDirect('tostring', `direct from ${other.user}`);
    await got;
  }

  const items = new Map(model.roomItems().map((r) => [r.key, r]));
  for (const name of ROOMS) {
    const item = items.get(ids.get(name)!)!;
    assert.equal(item.title, name);
    assert.deepEqual({ unread: item.unread, mentions: item.mentions }, { unread: 3, mentions: 2 }, name);
  }
  for (const dm of ['dm:__proto__:tostring', 'dm:constructor:tostring']) assert.equal(items.get(dm)?.unread, 1, dm);
  assert.equal(model.totalUnread(), 11);
  assert.deepEqual(directs.get('tostring')?.sort(), ['dm:__proto__:tostring', 'dm:constructor:tostring']);
  const people = model.snapshot().people.map((p) => p.user).sort();
  assert.deepEqual(people, ['__proto__', 'constructor']);
  assert.ok(notified.includes('__proto__') && notified.includes('constructor in #__proto__'), notified.join(' | '));

  // Each room's timeline holds its own three messages, in order; opened with the view looked at, read.
  looking = true;
  for (const name of ROOMS) {
    await model.openConversation(ids.get(name)!);
    assert.equal(model.roomItems().find((r) => r.key === ids.get(name))?.unread, 0, 'opening reads it');
    const opened = posted.filter((m): m is Extract<HostToView, { type: 'conversation/opened' }> => m.type === 'conversation/opened').at(-1)!;
    assert.equal(opened.key, ids.get(name));
    const texts = opened.timeline.flatMap((i) => (i.kind === 'message' ? [`${i.from}: ${i.text}`] : []));
    assert.deepEqual(texts, [`__proto__: one in ${name}`, `constructor: @tostring 1 in ${name}`, `constructor: @tostring 2 in ${name}`]);
  }
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  model.signedOut();
});
