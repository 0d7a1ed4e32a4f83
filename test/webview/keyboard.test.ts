// Keyboard only: Tab reaches the composer through the lists and the timeline, Enter sends,
// Escape leaves the composer for the timeline, and @-completion works with arrows, Enter and Tab.
// Focus is visible (an outline in --vscode-focusBorder).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { GENERAL_MEMBERS, member, message, withGeneral } from './fixtures.ts';

const active = (view: View) =>
  view.page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return { tag: el?.tagName.toLowerCase(), cls: el?.className ?? '', label: el?.getAttribute('aria-label') ?? el?.textContent ?? '' };
  });

describe('webview: keyboard only', () => {
  const harness = useHarness();

  test('Tab reaches the composer; Enter sends; Escape leaves it for the timeline', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([message('m1', 'bob', 'hello', Date.now())]) });
    await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
    const visited: string[] = [];
    for (let i = 0; i < 40; i++) {
      await view.page.keyboard.press('Tab');
      const now = await active(view);
      visited.push(`${now.tag}.${now.cls.split(' ')[0]}`);
      if (now.cls.includes('composer-input')) break;
    }
    assert.ok(visited.at(-1)?.includes('composer-input'), `Tab never reached the composer: ${visited.join(' → ')}`);
    assert.ok(visited.includes('div.timeline'), 'the timeline is in the tab order (to scroll it with keys)');
    assert.ok(visited.includes('button.list-item'), 'conversations are reachable');
    const outline = await view.page.evaluate(() => getComputedStyle(document.activeElement!).outlineColor);
    assert.equal(outline, 'rgb(0, 120, 212)', 'focus is visible in --vscode-focusBorder');

    await view.page.keyboard.type('sent by keyboard');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/send', { key: 'general', text: 'sent by keyboard' });

    await view.page.keyboard.press('Escape');
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('timeline'), null, { timeout: WAIT_MS });
    assert.equal((await active(view)).label, 'Messages in general');
    // From the timeline, Tab comes straight back to the composer.
    await view.page.keyboard.press('Tab');
    assert.ok((await active(view)).cls.includes('composer-input'));
  });

  test('@-completion: arrows move, Enter picks, Tab picks, Escape closes', async (t) => {
    const view = await harness().open(t);
    const members = [...GENERAL_MEMBERS, member('bart'), member('bella')];
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([], {}) });
    await view.send({ type: 'members/changed', key: 'general', members });
    const composer = view.page.locator('.composer-input');
    await composer.focus();
    await view.page.keyboard.type('hi @b');
    const listbox = view.page.getByRole('listbox', { name: 'Members to mention' });
    await listbox.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await listbox.getByRole('option').allInnerTexts(), ['@bart', '@bella', '@bob']);
    assert.equal(await listbox.getByRole('option', { selected: true }).innerText(), '@bart');
    assert.equal(await composer.getAttribute('aria-activedescendant'), 'mention-option-bart');
    await view.page.keyboard.press('ArrowDown');
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await listbox.getByRole('option', { selected: true }).innerText(), '@bob');
    await view.page.keyboard.press('ArrowUp');
    assert.equal(await listbox.getByRole('option', { selected: true }).innerText(), '@bella');
    await view.page.keyboard.press('Enter');
    assert.equal(await composer.inputValue(), 'hi @bella ');
    assert.equal(await listbox.count(), 0, 'the list closes after a pick');
    assert.equal((await view.postedOf('message/send')).length, 0, 'Enter picked, it did not send');

    await view.page.keyboard.type('and @c');
    await listbox.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await listbox.getByRole('option').allInnerTexts(), ['@carol'], 'I am not offered (alice), others filtered');
    await view.page.keyboard.press('Tab');
    assert.equal(await composer.inputValue(), 'hi @bella and @carol ');
    assert.ok((await active(view)).cls.includes('composer-input'), 'Tab picked instead of moving the focus');

    await view.page.keyboard.type('@b');
    await listbox.waitFor({ timeout: WAIT_MS });
    await view.page.keyboard.press('Escape');
    await listbox.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.ok((await active(view)).cls.includes('composer-input'), 'the first Escape only closes the list');
    await view.page.keyboard.type('ob');
    await listbox.waitFor({ timeout: WAIT_MS });
    await view.page.keyboard.press('Enter');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/send', { text: 'hi @bella and @carol @bob ' });
  });

  test('a private room can be joined with the keyboard alone', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([]) });
    const join = view.page.getByRole('button', { name: /^Join vault/ });
    await join.focus();
    await view.page.keyboard.press('Enter');
    await view.page.waitForFunction(() => document.activeElement?.id === 'join-id-vault', null, { timeout: WAIT_MS });
    await view.page.keyboard.type('pw');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('room/join', { id: 'id-vault', password: 'pw' });
  });
});
