// "Nothing lost" in the view, in Chromium: older pages load when the timeline is scrolled to the
// top (a loading row, the row in view stays where it was, no request once there is no more), far
// older pages are let go back at the bottom; my messages show waiting for / delivered / not
// delivered to; gaps show as notice rows until filled; a late message lands where it belongs,
// marked late. The test plays the host, answering `history/page` as extension/chat-controller.ts does.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { VIEW_KEEP_ITEMS } from '../../webview/timeline-window.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

const MIN = 60_000;
const BASE = Date.now() - 3 * 60 * MIN;

/** Messages n..m-1 from bob and carol in turn, one a minute, ids m<n>. */
function range(from: number, to: number): TimelineMessage[] {
  const items: TimelineMessage[] = [];
  for (let i = from; i < to; i++) items.push(message(`m${i}`, i % 2 ? 'bob' : 'carol', `message number ${i}`, BASE + i * 20_000));
  return items;
}

async function open(view: View, timeline: TimelineItem[], more: boolean): Promise<void> {
  const snapshot = withGeneral(timeline);
  snapshot.open!.more = more;
  await view.send({ type: 'host/snapshot', snapshot });
  await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
}

/** Scrolls the timeline to its top, as a person dragging up would end. */
async function scrollToTop(view: View): Promise<void> {
  await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: 0 }));
}

/** Where row `id` is, relative to the timeline's top edge (px). */
async function topOf(view: View, id: string): Promise<number> {
  return view.page.evaluate((id) => {
    const timeline = document.querySelector('.timeline')!.getBoundingClientRect();
    return document.querySelector(`[data-id="${id}"]`)!.getBoundingClientRect().top - timeline.top;
  }, id);
}

/** Answers the view's `history/page` request as the host does. */
async function answerPage(view: View, requestId: number, before: string, items: TimelineMessage[], more: boolean): Promise<void> {
  await view.send({ type: 'request/completed', requestId, ok: true, page: { key: 'general', before, items, more } });
}

describe('webview: history pages, delivery states, gaps, late messages', () => {
  const harness = useHarness();

  test('scrolling to the top loads the page before the oldest message; the row in view stays put; none after the last page', async (t) => {
    const view = await harness().open(t);
    await open(view, range(100, 160), true);
    await view.page.locator('[data-id="m159"]').waitFor({ timeout: WAIT_MS });
    assert.equal((await view.postedOf('history/page')).length, 0, 'at the bottom of a full view nothing is asked');

    await scrollToTop(view);
    const asked = await view.waitForPosted('history/page', { key: 'general', before: 'm100' });
    const loading = view.page.locator('.row.older[aria-busy="true"]');
    await loading.waitFor({ timeout: WAIT_MS });
    assert.match(await loading.innerText(), /Loading older messages/);
    const before = await topOf(view, 'm100');

    await answerPage(view, asked.requestId, 'm100', range(50, 100), true);
    await view.page.locator('[data-id="m99"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    // Measured rows settle within a frame or two: wait for the layout to be still, then compare.
    await view.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const after = await topOf(view, 'm100');
    assert.ok(Math.abs(after - before) <= 2, `m100 moved from ${before} to ${after} px when the page came in`);
    const ids = await view.page.locator('.timeline .row.message').evaluateAll((els) => els.map((el) => el.getAttribute('data-id')));
    assert.ok(ids.indexOf('m99') >= 0 && ids.indexOf('m99') < ids.indexOf('m100'), `older messages above: ${ids.join(' ')}`);
    assert.equal(await view.page.locator('.row.older[aria-busy="true"]').count(), 0, 'the loading row stops saying so');

    // The last page: its answer says there is no more, and the loading row goes.
    await scrollToTop(view);
    const last = await view.waitForPosted('history/page', { before: 'm50' });
    await answerPage(view, last.requestId, 'm50', range(0, 50), false);
    await view.page.locator('[data-id="m49"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    assert.equal(await view.page.locator('.row.older').count(), 0);
    await scrollToTop(view);
    await view.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.equal((await view.postedOf('history/page')).length, 2, 'nothing is asked once there is no more');
    view.assertClean();
  });

  test('a failed page says why in the loading row; Retry (keyboard) asks again', async (t) => {
    const view = await harness().open(t);
    await open(view, range(0, 5), true);
    // A short conversation fills no screen: its top is in view, so the older page is asked at once.
    const first = await view.waitForPosted('history/page', { before: 'm0' });
    await view.send({ type: 'request/completed', requestId: first.requestId, ok: false, error: { code: 'room.not_found', message: 'you are not in that room any more' } });
    const row = view.page.locator('.row.older');
    await row.getByText(/Older messages did not load: you are not in that room any more/).waitFor({ timeout: WAIT_MS });
    assert.equal((await view.postedOf('history/page')).length, 1, 'no retry loop after a failure');
    await row.getByRole('button', { name: 'Retry' }).focus();
    await view.page.keyboard.press('Enter');
    await view.page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'history/page').length === 2, undefined, { timeout: WAIT_MS });
    const again = (await view.postedOf('history/page'))[1]!;
    assert.equal(again.before, 'm0');
    assert.notEqual(again.requestId, first.requestId);
    await answerPage(view, again.requestId, 'm0', [], false);
    await view.page.locator('.row.older').waitFor({ state: 'detached', timeout: WAIT_MS });
    view.assertClean();
  });

  test(`far older pages are let go back at the bottom (the newest ${VIEW_KEEP_ITEMS} stay) and load again when scrolled to`, async (t) => {
    const view = await harness().open(t);
    await open(view, range(1000, 1050), true);
    await view.page.locator('[data-id="m1049"]').waitFor({ timeout: WAIT_MS });
    // Three pages of 200 make 650 items, more than the view keeps.
    let oldest = 1000;
    for (let n = 0; n < 3; n++) {
      await scrollToTop(view);
      const asked = await view.waitForPosted('history/page', { before: `m${oldest}` });
      await answerPage(view, asked.requestId, `m${oldest}`, range(oldest - 200, oldest), true);
      // The newest of the page sits right above what was in view (the rest is above, not drawn yet).
      await view.page.locator(`[data-id="m${oldest - 1}"]`).waitFor({ state: 'attached', timeout: WAIT_MS });
      oldest -= 200;
    }
    await view.page.getByRole('button', { name: 'Jump to the latest message' }).click();
    await view.page.locator('[data-id="m1049"]').waitFor({ timeout: WAIT_MS });
    await view.clearPosted();
    await scrollToTop(view);
    const kept = 1050 - VIEW_KEEP_ITEMS;
    await view.waitForPosted('history/page', { before: `m${kept}` });
    assert.equal(await view.page.locator(`[data-id="m${kept - 1}"]`).count(), 0, 'what was let go is not in the page');
    view.assertClean();
  });

  test('my message: waiting for bob (also after a reload), then the delivered tick; not delivered to carol in the warning color, saying what to do', async (t) => {
    const view = await harness().open(t);
    const now = Date.now();
    const stored: TimelineMessage = { ...message('old', 'alice', 'from before the reload', now - 5 * MIN), waitingFor: ['bob'] };
    delete stored.delivered;
    await open(view, [stored, message('mine', 'alice', 'are you there?', now - MIN, { delivered: { count: 0, of: 2 } }), message('other', 'alice', 'and you?', now)], false);
    const old = view.page.locator('[data-id="old"] .delivery-state.waiting');
    await old.waitFor({ timeout: WAIT_MS });
    assert.equal((await old.innerText()).trim(), 'waiting for bob');

    await view.send({ type: 'message/waiting', key: 'general', id: 'mine', waitingFor: ['bob'] });
    const waiting = view.page.locator('[data-id="mine"] .delivery-state.waiting');
    await waiting.waitFor({ timeout: WAIT_MS });
    assert.equal((await waiting.innerText()).trim(), 'waiting for bob');
    assert.match((await waiting.getAttribute('title'))!, /outbox.*bob can be reached/);
    await view.send({ type: 'message/delivered', key: 'general', id: 'mine', count: 2, of: 2 });
    await view.page.locator('[data-id="mine"] .delivery.delivered-all.codicon-check-all[aria-label="Delivered to 2 of 2"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.locator('[data-id="mine"] .delivery-state').count(), 0, 'no longer waiting');

    await view.send({ type: 'message/waiting', key: 'general', id: 'other', waitingFor: ['carol', 'dave'] });
    await view.page.locator('[data-id="other"] .delivery-state.waiting', { hasText: 'waiting for carol and dave' }).waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'message/expired', key: 'general', id: 'other', user: 'carol' });
    const expired = view.page.locator('[data-id="other"] .delivery-state.not-delivered');
    await expired.waitFor({ timeout: WAIT_MS });
    assert.match(await expired.innerText(), /not delivered to carol/);
    assert.match((await expired.getAttribute('title'))!, /Not delivered to carol.*Send it again/);
    assert.equal(await expired.evaluate((el) => getComputedStyle(el).color), 'rgb(204, 167, 0)', 'the warning color');
    assert.equal(await expired.locator('.codicon-warning').count(), 1);
    view.assertClean();
  });

  test('a gap shows as a notice row until it is filled; a hostile sender name is text', async (t) => {
    const view = await harness().open(t);
    await open(view, range(0, 3), false);
    const hostile = '<img src=x onerror="document.title=1">';
    await view.send({ type: 'gaps/changed', key: 'general', gaps: [{ from: 'carol', missing: 12 }, { from: hostile, missing: 1 }] });
    const gaps = view.page.locator('.gap-notices .row.notice.gap');
    await gaps.first().waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await gaps.allInnerTexts(), ['12 messages from carol not received yet', `1 message from ${hostile} not received yet`]);
    assert.equal(await view.page.locator('.gap-notices img').count(), 0, 'a name is never markup');
    await view.send({ type: 'gaps/changed', key: 'random', gaps: [] });
    assert.equal(await gaps.count(), 2, 'another conversation changes nothing here');
    await view.send({ type: 'gaps/changed', key: 'general', gaps: [{ from: hostile, missing: 1 }] });
    await view.page.locator('.gap-notices .row.gap', { hasText: 'carol' }).waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.send({ type: 'gaps/changed', key: 'general', gaps: [] });
    await view.page.locator('.gap-notices').waitFor({ state: 'detached', timeout: WAIT_MS });
    view.assertClean();
  });

  test('a late message is placed where it belongs (time, then sender, then as it came) and marked late with a tooltip; one older than the loaded pages waits for its page', async (t) => {
    const view = await harness().open(t);
    const t0 = Date.now() - 30 * MIN;
    await open(view, [message('a', 'bob', 'first', t0), message('c', 'carol', 'third', t0 + 10 * MIN), message('d', 'bob', 'fourth', t0 + 20 * MIN)], true);
    await view.page.locator('[data-id="d"]').waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'timeline/added', key: 'general', item: message('b', 'dave', 'second, arriving late', t0 + 5 * MIN, { late: true }) });
    await view.send({ type: 'timeline/added', key: 'general', item: message('b9', 'bob', 'same time as third, sender before it', t0 + 10 * MIN, { late: true }) });
    await view.send({ type: 'timeline/added', key: 'general', item: message('c2', 'carol', 'same time and sender as third: after it, as it came', t0 + 10 * MIN, { late: true }) });
    await view.send({ type: 'timeline/added', key: 'general', item: message('z', 'bob', 'older than anything loaded', t0 - 60 * MIN, { late: true }) });
    await view.send({ type: 'timeline/added', key: 'general', item: message('e', 'bob', 'newest', t0 + 25 * MIN) });
    await view.page.locator('[data-id="e"]').waitFor({ timeout: WAIT_MS });
    const ids = await view.page.locator('.timeline .row.message').evaluateAll((els) => els.map((el) => el.getAttribute('data-id')));
    assert.deepEqual(ids, ['a', 'b', 'b9', 'c', 'c2', 'd', 'e']);
    const mark = view.page.locator('[data-id="b"] .late-mark');
    assert.equal((await mark.innerText()).split(':')[0]!.trim(), 'late');
    assert.match((await mark.getAttribute('title'))!, /^Arrived late: sent .+, before messages shown below it/);
    assert.equal(await view.page.locator('[data-id="d"] .late-mark').count(), 0, 'only late ones are marked');
    view.assertClean();
  });
});
