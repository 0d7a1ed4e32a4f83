// webview/state.ts, receive.ts and actions.ts in Node with a fake VS Code API: receive.ts alone
// applies host notifications and never posts; only actions post, and each request's completion
// lands at its own place. The typing timer runs on node:test's mock clock.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ViewToHost } from '../../protocol/view.ts';
import { actions, TYPING_IDLE_MS } from '../../webview/actions.ts';
import { receive, start } from '../../webview/receive.ts';
import { model } from '../../webview/state.ts';
import { readPersisted, type PersistedState, type VsCodeApi } from '../../webview/vscode-api.ts';
import { GENERAL_MEMBERS, loggedIn, message, room, withGeneral } from './fixtures.ts';

function connect(t: TestContext, saved: unknown = null) {
  const posted: ViewToHost[] = [];
  let state: PersistedState | undefined;
  const api: VsCodeApi = {
    postMessage: (m) => posted.push(m),
    getState: () => saved,
    setState: (s) => {
      state = s;
    },
  };
  const target = new EventTarget();
  const stop = start(api, target as unknown as Window);
  t.after(stop);
  return { posted, saved: () => state, deliver: (data: unknown) => target.dispatchEvent(new MessageEvent('message', { data })) };
}

test('host messages arrive through the message event and update the model', (t) => {
  const { deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: withGeneral([message('a', 'bob', 'hi', 1)]) });
  assert.equal(model.ready.value, true);
  assert.equal(model.loggedIn.value, true);
  assert.equal(model.openKey.value, 'general');
  assert.equal(model.rows.value.length, 2);
  deliver({ type: 'timeline/added', key: 'general', item: message('b', 'bob', 'again', 2) });
  deliver({ type: 'timeline/added', key: 'random', item: message('c', 'bob', 'elsewhere', 3) });
  assert.deepEqual(
    model.rows.value.map((r) => r.key),
    [model.rows.value[0]!.key, 'm:a', 'm:b'],
  );
  deliver({ type: 'rooms/changed', rooms: [room('general', { unread: 3 })] });
  assert.equal(model.rooms.value[0]!.unread, 3);
  deliver('not a message');
  deliver({ nope: 1 });
  assert.equal(model.rooms.value.length, 1, 'junk is ignored');
});

test('delivery updates replace the message in the timeline and its row', (t) => {
  const { deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: withGeneral([message('a', 'alice', 'mine', 1)]) });
  receive({ type: 'message/delivered', key: 'general', id: 'a', count: 2, of: 2 });
  const row = model.rows.value[1]!;
  assert.equal(row.kind, 'message');
  assert.deepEqual(row.kind === 'message' && row.item.delivered, { count: 2, of: 2 });
});

test('typing: true once while typing, false after 3 s idle, false on send', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { posted, deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: withGeneral([]) });
  actions.setDraft('general', 'h');
  actions.setDraft('general', 'he');
  actions.setDraft('general', 'hel');
  assert.deepEqual(posted.filter((m) => m.type === 'typing/set'), [{ type: 'typing/set', key: 'general', active: true }]);
  t.mock.timers.tick(TYPING_IDLE_MS - 1);
  assert.equal(posted.filter((m) => m.type === 'typing/set').length, 1, 'not before 3 s');
  t.mock.timers.tick(1);
  assert.deepEqual(posted.filter((m) => m.type === 'typing/set').at(-1), { type: 'typing/set', key: 'general', active: false });
  actions.setDraft('general', 'hello');
  assert.equal(actions.send('general'), true);
  const typing = posted.filter((m) => m.type === 'typing/set').map((m) => m.type === 'typing/set' && m.active);
  assert.deepEqual(typing, [true, false, true, false]);
  const sent = posted.at(-1);
  assert.ok(sent?.type === 'message/send' && sent.key === 'general' && sent.text === 'hello' && sent.requestId > 0);
  t.mock.timers.tick(TYPING_IDLE_MS * 2);
  assert.equal(posted.filter((m) => m.type === 'typing/set').length, 4, 'no stray "stopped" after sending');
});

test('drafts, login fields and the open conversation are persisted; never the password', (t) => {
  const { posted, saved, deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: withGeneral([]) });
  actions.setDraft('general', 'draft text');
  actions.login({ tracker: 'h:1', user: 'alice', password: 'pw-secret' }, false);
  const state = saved()!;
  assert.equal(state.openKey, 'general');
  assert.deepEqual(state.drafts, [['general', 'draft text']]);
  assert.deepEqual(state.login, { tracker: 'h:1', user: 'alice' });
  assert.doesNotMatch(JSON.stringify(state), /pw-secret/);
  assert.ok(posted.some((m) => m.type === 'auth/login' && m.password === 'pw-secret'));
});

test('after hide/show, the saved conversation is asked for when the host has none open', (t) => {
  const { posted, deliver } = connect(t, { v: 1, openKey: 'random', drafts: { random: 'x' }, login: {}, collapsed: {}, membersOpen: true });
  assert.equal(model.membersOpen.value, true);
  assert.equal(model.drafts.value.get('random'), 'x', 'a version 1 state (plain objects) still reads');
  deliver({ type: 'host/snapshot', snapshot: loggedIn() });
  assert.deepEqual(posted.at(-1), { type: 'conversation/open', key: 'random' });
  deliver({ type: 'host/snapshot', snapshot: loggedIn() });
  assert.equal(posted.filter((m) => m.type === 'conversation/open').length, 1, 'only after the first snapshot');
});

test('receiving never posts: a snapshot that moves the open conversation ends typing through the actions effect', (t) => {
  const { posted, deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: withGeneral([]) });
  actions.setDraft('general', 'typing here');
  const before = posted.length;
  // Straight into the reducer (no start() listener): the state changes, nothing is posted by it.
  receive({ type: 'rooms/changed', rooms: [room('general')] });
  receive({ type: 'timeline/added', key: 'general', item: message('z', 'bob', 'hey', 9) });
  assert.equal(posted.length, before);
  deliver({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: [], members: GENERAL_MEMBERS, typing: [] });
  assert.deepEqual(posted.slice(before), [{ type: 'typing/set', key: 'general', active: false }]);
});

test('a failing join shows its error in its own row; another join and the login stay pending', (t) => {
  const { posted, deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: loggedIn() });
  actions.joinRoom('id-design');
  actions.joinRoom('id-vault', 'wrong');
  const [design, vault] = posted.filter((m) => m.type === 'room/join').slice(-2) as Extract<ViewToHost, { type: 'room/join' }>[];
  assert.equal(design!.id, 'id-design');
  assert.notEqual(design!.requestId, vault!.requestId);
  assert.deepEqual([...model.joining.value].sort(), ['id-design', 'id-vault']);
  deliver({ type: 'request/completed', requestId: vault!.requestId, ok: false, error: { code: 'room.bad_password', message: 'wrong password for vault' } });
  assert.equal(model.joinErrors.value.get('id-vault'), 'wrong password for vault');
  assert.equal(model.joinErrors.value.has('id-design'), false);
  assert.deepEqual([...model.joining.value], ['id-design'], 'the other join is still pending');
  assert.equal(model.error.value, undefined, 'not in the error bar');
  // An engine error that belongs to no request: the bar, and no pending state changes.
  deliver({ type: 'notice/shown', message: 'bob is unreachable', code: 'peer.unreachable' });
  assert.equal(model.error.peek()?.message, 'bob is unreachable');
  assert.deepEqual([...model.joining.value], ['id-design']);
  deliver({ type: 'request/completed', requestId: design!.requestId, ok: true });
  assert.equal(model.joining.value.size, 0);
  assert.equal(model.joinErrors.value.get('id-vault'), 'wrong password for vault', 'one completion changes its own place only');
  actions.joinRoom('id-vault', 'right');
  assert.equal(model.joinErrors.value.has('id-vault'), false, 'trying again clears that row');
});

test('the login form stays pending through unrelated errors, and shows its own failure', (t) => {
  const { posted, deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: { ...loggedIn(), session: { state: 'logged_out', tracker: 'h:1', detail: '' } } });
  actions.login({ tracker: 'h:1', user: 'alice', password: 'pw' }, false);
  const login = posted.at(-1) as Extract<ViewToHost, { type: 'auth/login' }>;
  assert.equal(model.authPending.value, true);
  deliver({ type: 'notice/shown', message: 'a peer link was refused', code: 'link.refused' });
  deliver({ type: 'request/completed', requestId: login.requestId + 1000, ok: false, error: { message: 'some other request' } });
  assert.equal(model.authPending.value, true, 'an error that is not the login\'s leaves the form pending');
  assert.equal(model.loginError.value, undefined);
  deliver({ type: 'request/completed', requestId: login.requestId, ok: false, error: { code: 'auth.bad_credentials', message: 'Wrong user name or password.' } });
  assert.equal(model.authPending.value, false);
  assert.equal(model.loginError.peek()?.message, 'Wrong user name or password.');
});

const HOSTILE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

test('drafts and collapsed sections keyed __proto__, constructor, toString are keys like any other, and persist', (t) => {
  const { saved, deliver } = connect(t);
  deliver({ type: 'host/snapshot', snapshot: loggedIn() });
  assert.equal(model.drafts.value.get('constructor'), undefined, 'no draft is inherited from Object.prototype');
  for (const key of HOSTILE_KEYS) {
    actions.setDraft(key, `draft for ${key}`);
    actions.toggleSection(key);
  }
  for (const key of HOSTILE_KEYS) {
    assert.equal(model.drafts.value.get(key), `draft for ${key}`);
    assert.equal(model.collapsed.value.has(key), true);
  }
  assert.equal(Object.getPrototypeOf({}), Object.prototype, 'Object.prototype untouched');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const state = JSON.parse(JSON.stringify(saved()!)) as PersistedState;
  const back = readPersisted(state);
  assert.deepEqual([...back.drafts], HOSTILE_KEYS.map((k) => [k, `draft for ${k}`]));
  assert.deepEqual([...back.collapsed], HOSTILE_KEYS);
  actions.toggleSection('__proto__');
  assert.equal(model.collapsed.value.has('__proto__'), false);
  actions.setDraft('__proto__', '');
  assert.equal(model.drafts.value.has('__proto__'), false);
  assert.equal(actions.send('constructor'), true, 'a draft keyed "constructor" sends');
});

test('an older saved state (plain objects) reads with own properties only; junk reads as empty', () => {
  const v1 = JSON.parse('{"v":1,"openKey":"__proto__","drafts":{"__proto__":"a","constructor":"b","general":"c","bad":7},"login":{"user":"alice"},"collapsed":{"__proto__":true,"rooms":false,"people":true},"membersOpen":true}');
  const state = readPersisted(v1);
  assert.deepEqual([...state.drafts], [['__proto__', 'a'], ['constructor', 'b'], ['general', 'c']]);
  assert.deepEqual([...state.collapsed].sort(), ['__proto__', 'people']);
  assert.equal(state.openKey, '__proto__');
  assert.deepEqual(state.login, { user: 'alice' });
  assert.equal(state.membersOpen, true);
  // Inherited properties are not saved state.
  const inherited = Object.create({ drafts: { x: 'y' }, membersOpen: true }) as Record<string, unknown>;
  inherited.v = 1;
  assert.equal(readPersisted(inherited).drafts.size, 0);
  assert.equal(readPersisted(inherited).membersOpen, false);
  for (const junk of [null, 7, 'x', [], { v: 3 }, { v: 2, drafts: 'no', collapsed: {} }, { v: 2, drafts: [[1, 2], ['k'], 'x'], collapsed: [3] }]) {
    const read = readPersisted(junk);
    assert.equal(read.drafts.size, 0);
    assert.equal(read.collapsed.size, 0);
  }
});
