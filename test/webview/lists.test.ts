// Logged in, the sidebar lists: rooms with unread and mention counts, direct conversations,
// people with presence and key warnings, and the directory of rooms to join.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { loggedIn, person, room } from './fixtures.ts';

const roomButton = (view: View, title: string) => view.page.locator(`.conversation[data-key="${title}"]`);

describe('webview: rooms, people, directory', () => {
  const harness = useHarness();

  test('the room list shows rooms with unread counts, mentions, lock and fork warning', async (t) => {
    const view = await harness().open(t);
    await view.send({
      type: 'host/snapshot',
      snapshot: loggedIn({ rooms: [room('general'), room('random', { unread: 4 }), room('secret', { private: true, unread: 12, mentions: 2, forked: true })] }),
    });
    const rooms = view.page.getByRole('list', { name: 'Rooms', exact: true });
    await rooms.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await rooms.locator('.item-title').allInnerTexts(), ['general', 'random', 'secret']);
    assert.equal(await roomButton(view, 'general').locator('.badge').count(), 0, 'no badge without unread messages');
    assert.equal(await roomButton(view, 'random').locator('.unread-badge').innerText(), '4');
    const secret = roomButton(view, 'secret');
    assert.equal(await secret.locator('.unread-badge').innerText(), '12');
    assert.equal(await secret.locator('.mention-badge').innerText(), '@2');
    assert.equal(await secret.locator('.codicon-lock').count(), 1);
    assert.equal(await secret.locator('.codicon-warning').count(), 1);
    assert.equal(await secret.getAttribute('aria-label'), 'Room secret, private, 12 unread, 2 mentions, history conflict');
    view.assertClean();
  });

  test('unread counts update when the host says the rooms changed', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const random = roomButton(view, 'random');
    await random.locator('.unread-badge').waitFor({ timeout: WAIT_MS });
    assert.equal(await random.locator('.unread-badge').innerText(), '4');
    await view.send({ type: 'rooms/changed', rooms: [room('general'), room('random', { unread: 5, mentions: 1 }), room('secret', { private: true })] });
    await view.page.waitForFunction(() => document.querySelector('.conversation[data-key="random"] .unread-badge')?.textContent === '5', null, { timeout: WAIT_MS });
    assert.equal(await random.locator('.mention-badge').innerText(), '@1');
    assert.equal(await roomButton(view, 'secret').locator('.badge').count(), 0, 'read: the badge goes away');
    await view.send({ type: 'rooms/changed', rooms: [room('general'), room('random')] });
    await random.locator('.badge').first().waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal(await roomButton(view, 'secret').count(), 0);
  });

  test('clicking a room asks the host to open it; the open one is marked current', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    await roomButton(view, 'random').click();
    await view.waitForPosted('conversation/open', { key: 'random' });
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: [], members: [], typing: [] });
    await view.page.waitForSelector('.conversation[data-key="random"][aria-current="true"]', { timeout: WAIT_MS });
    assert.equal(await view.page.locator('.chat-title').innerText(), 'random');
  });

  test('direct conversations are listed apart, with the other person presence', async (t) => {
    const view = await harness().open(t);
    await view.send({
      type: 'host/snapshot',
      snapshot: loggedIn({ rooms: [room('general'), room('dm:alice:bob', { title: 'bob', direct: true, private: true, unread: 1, members: 2 })] }),
    });
    const dms = view.page.getByRole('list', { name: 'Direct messages' });
    await dms.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await dms.locator('.item-title').allInnerTexts(), ['bob']);
    assert.equal(await dms.locator('.presence.online').count(), 1);
    assert.equal(await view.page.getByRole('list', { name: 'Rooms', exact: true }).locator('.item-title').allInnerTexts().then((x) => x.join()), 'general');
  });

  test('people: presence dot, verified badge, key-changed warning; a click opens a DM', async (t) => {
    const view = await harness().open(t);
    await view.send({
      type: 'host/snapshot',
      snapshot: loggedIn({ people: [person('bob', { verified: true }), person('carol', { online: false }), person('mallory', { keyChanged: true })] }),
    });
    const people = view.page.getByRole('list', { name: 'People' });
    await people.waitFor({ timeout: WAIT_MS });
    const bob = people.locator('[data-user="bob"]');
    const carol = people.locator('[data-user="carol"]');
    const mallory = people.locator('[data-user="mallory"]');
    assert.equal(await bob.locator('.presence.online').count(), 1);
    assert.equal(await bob.locator('.codicon-verified-filled').getAttribute('aria-label'), 'Verified');
    assert.equal(await carol.locator('.presence.offline').count(), 1);
    assert.equal(await carol.locator('.codicon-verified-filled').count(), 0);
    assert.equal(await bob.locator('.warning-text').count(), 0);
    assert.match(await mallory.locator('.warning-text').innerText(), /key changed/);
    const color = await mallory.locator('.warning-text').evaluate((el) => getComputedStyle(el).color);
    assert.equal(color, 'rgb(204, 167, 0)', 'warnings use --vscode-editorWarning-foreground');
    await mallory.getByRole('button', { name: 'Verify mallory' }).click();
    await view.waitForPosted('member/verify', { user: 'mallory' });
    await carol.getByRole('button', { name: /^carol, offline/ }).click();
    await view.waitForPosted('conversation/openDirect', { user: 'carol' });
    // The key change arrives later: the warning appears.
    await view.send({ type: 'people/changed', people: [person('bob', { keyChanged: true }), person('carol', { online: false })] });
    await bob.locator('.warning-text').waitFor({ timeout: WAIT_MS });
    assert.equal(await bob.locator('.codicon-verified-filled').count(), 0);
    view.assertClean();
  });

  test('directory: join a public room at once, a private one after its password', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const directory = view.page.getByRole('list', { name: 'Rooms you can join' });
    await directory.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await directory.locator('.item-title').allInnerTexts(), ['design', 'vault'], 'rooms I am in are not offered');
    await directory.getByRole('button', { name: 'Join design' }).click();
    assert.deepEqual(await view.waitForPosted('room/join', { id: 'id-design' }), { type: 'room/join', id: 'id-design', requestId: 1 });
    await directory.getByRole('button', { name: /^Join vault/ }).click();
    const password = view.page.getByLabel('Password for vault');
    await password.waitFor({ timeout: WAIT_MS });
    assert.equal(await password.getAttribute('type'), 'password');
    assert.equal(await view.page.evaluate(() => document.activeElement?.id), 'join-id-vault', 'the password field takes the focus');
    assert.equal((await view.postedOf('room/join')).length, 1, 'nothing sent before the password');
    await password.fill('hunter2');
    await password.press('Enter');
    assert.deepEqual(await view.waitForPosted('room/join', { id: 'id-vault' }), { type: 'room/join', id: 'id-vault', password: 'hunter2', requestId: 2 });
    await password.waitFor({ state: 'detached', timeout: WAIT_MS });
  });

  test('a failing join shows its error in its own row; the other join stays pending', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const directory = view.page.getByRole('list', { name: 'Rooms you can join' });
    await directory.getByRole('button', { name: 'Join design' }).click();
    const design = await view.waitForPosted('room/join', { id: 'id-design' });
    await directory.getByRole('button', { name: /^Join vault/ }).click();
    await view.page.getByLabel('Password for vault').fill('wrong');
    await view.page.getByLabel('Password for vault').press('Enter');
    const vault = await view.waitForPosted('room/join', { id: 'id-vault' });
    const row = (name: string) => directory.locator(`.directory-room[data-room="${name}"]`);
    await row('design').getByRole('status').filter({ hasText: 'Joining…' }).waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'request/completed', requestId: vault.requestId, ok: false, error: { code: 'room.bad_password', message: 'wrong password for vault' } });
    await row('vault').getByRole('alert').filter({ hasText: 'wrong password for vault' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await row('design').getByRole('status').innerText(), 'Joining…', 'the other join is untouched');
    assert.equal(await row('design').getByRole('alert').count(), 0);
    assert.equal(await view.page.locator('.error-bar').count(), 0, 'a join failure is not in the error bar');
    assert.equal(await row('vault').getByRole('button', { name: /^Join vault/ }).isEnabled(), true, 'the failed row can try again');
    await view.send({ type: 'request/completed', requestId: design.requestId, ok: true });
    await row('design').getByRole('button', { name: 'Join design' }).waitFor({ timeout: WAIT_MS });
    await row('vault').getByRole('button', { name: 'Dismiss' }).click();
    await row('vault').getByRole('alert').waitFor({ state: 'detached', timeout: WAIT_MS });
    view.assertClean();
  });

  test('the directory follows pushes: a room created elsewhere appears, a joined one leaves it', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const directory = view.page.getByRole('list', { name: 'Rooms you can join' });
    await directory.waitFor({ timeout: WAIT_MS });
    const rooms = loggedIn().directory;
    await view.send({ type: 'directory/changed', directory: [...rooms, { id: 'id-fresh', name: 'fresh', private: false, members: 1, online: 1, member: false }] });
    await directory.getByRole('button', { name: 'Join fresh' }).waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'directory/changed', directory: rooms.map((r) => (r.name === 'design' ? { ...r, member: true } : r)) });
    await directory.getByRole('button', { name: 'Join fresh' }).waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.deepEqual(await directory.locator('.item-title').allInnerTexts(), ['vault']);
    assert.equal((await view.postedOf('command/run')).length, 0, 'nothing was asked for');
  });

  test('sections collapse, and stay collapsed after hide/show', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const toggle = view.page.getByRole('button', { name: /^People/ });
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await view.page.getByRole('list', { name: 'People' }).waitFor({ state: 'hidden', timeout: WAIT_MS });
    await view.reload();
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    await view.page.getByRole('button', { name: /^People/ }).waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.getByRole('button', { name: /^People/ }).getAttribute('aria-expanded'), 'false');
  });

  test('a notice from the host appears inline and can be dismissed', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    await view.send({ type: 'notice/shown', message: 'Could not reach bob.', code: 'peer.unreachable' });
    const alert = view.page.getByRole('alert').filter({ hasText: 'Could not reach bob.' });
    await alert.waitFor({ timeout: WAIT_MS });
    await alert.getByRole('button', { name: 'Dismiss error' }).click();
    await alert.waitFor({ state: 'detached', timeout: WAIT_MS });
  });
});
