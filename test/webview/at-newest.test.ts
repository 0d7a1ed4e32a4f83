// Whether the view shows the newest messages, told to the host (view/atNewest, webview/actions.ts
// showsNewest), in Chromium: true once a conversation is shown from its bottom, false once scrolled
// up or after a jump to an old message (a search result: a window away from the newest), true again
// at the bottom and after "Latest". The host reads messages and sends read receipts only while it
// is true (extension/attention.ts), so a receipt never goes for messages waiting below.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TimelineMessage } from '../../protocol/view.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { GENERAL_MEMBERS, message, withGeneral } from './fixtures.ts';

const MIN = 60_000;
const T0 = Date.now() - 200 * MIN;

function many(key: string, from: number, to: number): TimelineMessage[] {
  const out: TimelineMessage[] = [];
  for (let i = from; i < to; i++) out.push(message(`${key[0]}${i}`, i % 2 ? 'bob' : 'carol', `${key} talk ${i}`, T0 + i * MIN));
  return out;
}

/** What the view last told the host of `key` (undefined: nothing yet). */
async function lastSaid(view: View, key: string): Promise<boolean | undefined> {
  return (await view.postedOf('view/atNewest')).filter((m) => m.key === key).at(-1)?.atNewest;
}

/** Waits until the view's last word on `key` is `atNewest`. */
async function said(view: View, key: string, atNewest: boolean): Promise<void> {
  await view.page.waitForFunction(
    ([key, atNewest]) => (window as unknown as { __posted: { type: string; key?: string; atNewest?: boolean }[] }).__posted.filter((m) => m.type === 'view/atNewest' && m.key === key).at(-1)?.atNewest === atNewest,
    [key, atNewest] as const,
    { timeout: WAIT_MS },
  );
}

describe('webview: tells the host whether the newest messages are on screen', () => {
  const harness = useHarness();

  test('at the bottom: true; scrolled up: false; back at the bottom: true, once per change', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral(many('general', 0, 80)) });
    await view.page.locator('[data-id="g79"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'general', true);

    // Scrolled up in small steps (many scroll events): one word, false, once they settle.
    await view.clearPosted();
    await view.page.locator('.timeline').evaluate(async (el) => {
      for (let i = 0; i < 10; i++) {
        el.scrollBy({ top: -120 });
        await new Promise((r) => requestAnimationFrame(r));
      }
    });
    await said(view, 'general', false);
    assert.equal((await view.postedOf('view/atNewest')).length, 1, 'a burst of scrolling is one message');

    // A message arrives while scrolled up: the view stays where it was, still not at the newest.
    await view.send({ type: 'timeline/added', key: 'general', item: message('g80', 'bob', 'are you there?', T0 + 80 * MIN) });
    await view.page.locator('.jump-to-bottom').waitFor({ timeout: WAIT_MS });
    assert.equal(await lastSaid(view, 'general'), false);

    // Back at the bottom: true.
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await view.page.locator('[data-id="g80"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'general', true);
    view.assertClean();
  });

  test('a jump to an old message (a search result) is not at the newest, even at the bottom of its window; "Latest" is', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral(many('general', 0, 3)) });
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many('random', 950, 1000), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.page.locator('[data-id="r999"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'random', true);

    // The search result r10 is far back: the view asks for a window around it, away from the newest.
    await view.send({ type: 'message/revealed', key: 'random', id: 'r10' });
    const asked = await view.waitForPosted('history/around', { key: 'random', id: 'r10' });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, page: { key: 'random', around: 'r10', items: many('random', 0, 12), more: false, newer: true } });
    await view.page.locator('.row.message.revealed[data-id="r10"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'random', false);
    // Its window is short: scrolled to its end, newer messages still wait beyond it.
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await view.waitForPosted('history/newer', { key: 'random', after: 'r11' });
    assert.equal(await lastSaid(view, 'random'), false, 'the end of a window away from the newest is not the newest');

    // "Latest": the newest window, shown from its bottom.
    await view.clearPosted();
    await view.page.getByRole('button', { name: 'Jump to the latest message' }).click();
    await view.waitForPosted('conversation/open', { key: 'random' });
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many('random', 950, 1001), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.page.locator('[data-id="r1000"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'random', true);
    view.assertClean();
  });

  test('a search result in another conversation: never at the newest there, though its newest page shows first', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral(many('general', 0, 3)) });
    await said(view, 'general', true);
    await view.page.keyboard.press('Control+f');
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: WAIT_MS });
    await view.page.keyboard.type('talk');
    const asked = await view.waitForPosted('search/run', { query: 'talk' });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, results: [{ key: 'random', title: 'random', id: 'r10', from: 'bob', text: 'random talk 10', sentAt: T0 + 10 * MIN }] });
    await view.page.getByRole('option').first().waitFor({ timeout: WAIT_MS });
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('search/open', { key: 'random', id: 'r10' });

    // The host opens #random (its newest page), which the view shows for a moment, then reveals r10.
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many('random', 950, 1000), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.page.locator('[data-id="r999"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r10' });
    const around = await view.waitForPosted('history/around', { key: 'random', id: 'r10' });
    await view.send({ type: 'request/completed', requestId: around.requestId, ok: true, page: { key: 'random', around: 'r10', items: many('random', 0, 40), more: false, newer: true } });
    await view.page.locator('.row.message.revealed[data-id="r10"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'random', false);
    assert.deepEqual((await view.postedOf('view/atNewest')).filter((m) => m.key === 'random').map((m) => m.atNewest), [false], '#random was never said to be at its newest');
    view.assertClean();
  });
  test('opened by the host at a message (the palette\'s search, a code thread\'s "show in chat"): never at the newest there', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: withGeneral(many('general', 0, 3)) });
    await said(view, 'general', true);

    // No search in the view: the host opens #random at r10 (its newest page comes first), then reveals it.
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many('random', 950, 1000), more: true, members: GENERAL_MEMBERS, typing: [], reveal: 'r10' });
    const around = await view.waitForPosted('history/around', { key: 'random', id: 'r10' });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r10' });
    await view.send({ type: 'request/completed', requestId: around.requestId, ok: true, page: { key: 'random', around: 'r10', items: many('random', 0, 40), more: false, newer: true } });
    await view.page.locator('.row.message.revealed[data-id="r10"]').waitFor({ timeout: WAIT_MS });
    await said(view, 'random', false);
    assert.deepEqual((await view.postedOf('view/atNewest')).filter((m) => m.key === 'random').map((m) => m.atNewest), [false], '#random was never said to be at its newest');
    view.assertClean();
  });
});
