// Where the keyboard focus goes (issue 11, items 7 and 12): the timeline is one Tab stop however
// many links it holds, with Up and Down inside it; opening a conversation from the list, joining
// one from the Directory and the host's `focus/requested` put the focus in the composer; the view
// gaining focus with nothing focused lands in the composer; the login form starts with the last
// user name; with no conversation open, the space below the lists says what to do.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { loggedIn, loggedOut, message, withGeneral } from './fixtures.ts';

const activeClass = (view: View) => view.page.evaluate(() => (document.activeElement as HTMLElement | null)?.className ?? '');
const composerFocused = (view: View, title: string) =>
  view.page.waitForFunction((placeholder) => (document.activeElement as HTMLTextAreaElement | null)?.placeholder === placeholder, `Message ${title}`, { timeout: WAIT_MS });

describe('webview: where the focus goes', () => {
  const harness = useHarness();

  test('the timeline is one Tab stop: its links are reached with Up and Down, and Tab goes on to the composer', async (t) => {
    const view = await harness().open(t);
    const now = Date.now();
    const links = Array.from({ length: 12 }, (_, i) => `[link ${i}](https://example.invalid/${i})`).join(' ');
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([message('m1', 'bob', links, now), message('m2', 'carol', 'no links here', now + 1)]) });
    await view.page.locator('.row.message a[href]').first().waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.locator('.timeline a[href]').count(), 12);

    const timeline = view.page.locator('.timeline');
    await timeline.focus();
    await view.page.keyboard.press('Tab');
    assert.match(await activeClass(view), /composer-input/, 'one Tab from the timeline reaches the composer');
    await view.page.keyboard.press('Shift+Tab');
    assert.match(await activeClass(view), /\btimeline\b/, 'and Shift+Tab comes back to the timeline');

    // Down: the first message in view, then its links one by one; Up goes back.
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await view.page.evaluate(() => (document.activeElement as HTMLElement).dataset.id), 'm1');
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await view.page.evaluate(() => document.activeElement?.textContent), 'link 0');
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await view.page.evaluate(() => document.activeElement?.textContent), 'link 1');
    await view.page.keyboard.press('ArrowUp');
    assert.equal(await view.page.evaluate(() => document.activeElement?.textContent), 'link 0');
    const outline = await view.page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused link shows its focus');
    // From a link inside, Tab leaves the timeline for the composer.
    await view.page.keyboard.press('Tab');
    assert.match(await activeClass(view), /composer-input/);
    view.assertClean();
  });

  test('each sidebar list is one Tab stop with Up, Down, Home and End inside; the composer is a few Tabs from the top', async (t) => {
    const view = await harness().open(t);
    const many = Array.from({ length: 15 }, (_, i) => ({ key: `room-${i}`, title: `room-${i}`, direct: false, private: false, unread: 0, mentions: 0, members: 2, forked: false }));
    const people = Array.from({ length: 10 }, (_, i) => ({ user: `user${i}`, online: true, verified: false, keyChanged: false }));
    const base = withGeneral([]);
    await view.send({ type: 'host/snapshot', snapshot: { ...base, rooms: [...base.rooms, ...many], people } });
    await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
    const visited: string[] = [];
    for (let i = 0; i < 40; i++) {
      await view.page.keyboard.press('Tab');
      const now = await view.page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return `${el.tagName.toLowerCase()}.${el.className.split(' ')[0]}:${el.getAttribute('aria-label') ?? el.textContent?.trim() ?? ''}`;
      });
      visited.push(now);
      if (now.includes('composer-input')) break;
    }
    assert.ok(visited.at(-1)?.includes('composer-input'), `Tab never reached the composer: ${visited.join(' → ')}`);
    assert.ok(visited.length < 25, `${visited.length} Tab stops to the composer: ${visited.join(' → ')}`);
    assert.equal(visited.filter((v) => v.includes('list-item')).length <= 4, true, `one stop per list: ${visited.join(' → ')}`);
    assert.equal(visited.filter((v) => v.startsWith('button.secondary:Join')).length <= 1, true, 'one Join stop in the Directory');

    // In the Rooms list: Down moves to the next room, End to the last, Home back to the first; Enter opens.
    const first = view.page.locator('ul[aria-label="Rooms"] .list-item').first();
    await first.focus();
    await view.page.keyboard.press('ArrowDown');
    const label = () => view.page.evaluate(() => document.activeElement?.textContent ?? '');
    assert.match(await label(), /random/);
    await view.page.keyboard.press('End');
    assert.match(await label(), /room-14/);
    await view.page.keyboard.press('Home');
    assert.match(await label(), /general/);
    await view.page.keyboard.press('ArrowDown');
    // Tab away and Shift+Tab back: the list is entered where it was left.
    await view.page.keyboard.press('Tab');
    await view.page.keyboard.press('Shift+Tab');
    assert.match(await label(), /random/);
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('conversation/open', { key: 'random' });
    view.assertClean();
  });

  test('opening a conversation from the list, or the host asking, puts the focus in its composer', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([]) });
    await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
    const random = view.page.locator('.conversation', { hasText: 'random' }).first();
    await random.focus();
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('conversation/open', { key: 'random' });
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: [], members: [], typing: [] });
    await composerFocused(view, 'random');

    // Focus Message Box (the host's focus/requested) from elsewhere in the view.
    await view.page.locator('.conversation', { hasText: 'general' }).first().focus();
    await view.send({ type: 'focus/requested', target: 'composer' });
    await composerFocused(view, 'random');
    view.assertClean();
  });

  test('joining from the Directory with the keyboard leaves the focus in the joined room\'s composer', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const join = view.page.getByRole('button', { name: 'Join design' });
    await join.focus();
    await view.page.keyboard.press('Enter');
    const asked = await view.waitForPosted('room/join', { id: 'id-design' });
    // The host opens the room, then completes the request.
    await view.send({ type: 'conversation/opened', key: 'id-design', title: 'design', direct: false, timeline: [], members: [], typing: [] });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true });
    await composerFocused(view, 'design');
    await view.page.keyboard.type('typed at once');
    assert.equal(await view.page.locator('.composer-input').inputValue(), 'typed at once');
    view.assertClean();
  });

  test('the view gaining focus with nothing focused inside lands in the composer', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([]) });
    await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
    await view.page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.dispatchEvent(new FocusEvent('focus'));
    });
    await composerFocused(view, 'general');
    view.assertClean();
  });

  test('after a logout the form starts with the last user name; with no conversation open the view says what to do', async (t) => {
    const view = await harness().open(t);
    const out = loggedOut('Signed out.');
    await view.send({ type: 'host/snapshot', snapshot: { ...out, session: { ...out.session, lastUser: 'alice' } } });
    assert.equal(await view.page.locator('#login-user').inputValue(), 'alice');

    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    const hint = view.page.locator('.no-chat');
    await hint.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await hint.innerText(), /Pick a room or a person/);
    const [box, app] = await Promise.all([hint.boundingBox(), view.page.locator('.app').boundingBox()]);
    assert.ok(box && app && box.y + box.height >= app.y + app.height - 2, 'the hint fills the space below the lists');
    await hint.getByRole('button', { name: /Join Room/ }).click();
    await view.waitForPosted('command/run', { command: 'p2pChat.joinRoom' });
    view.assertClean();
  });
});
