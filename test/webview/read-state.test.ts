// Read state in the real view (Chromium): the "New messages" line above the first unread message
// when a conversation opens, "Jump to first unread" while that line is above the viewport (mouse
// and keyboard), and "Seen by" under the newest of my messages each member has read.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReadMark, TimelineMessage } from '../../protocol/view.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

const MIN = 60_000;
const T0 = Date.now() - 120 * MIN;

function many(n: number): TimelineMessage[] {
  const out: TimelineMessage[] = [];
  for (let i = 0; i < n; i++) out.push(message(`m${i}`, i % 3 === 0 ? 'alice' : i % 3 === 1 ? 'bob' : 'carol', `message number ${i}`, T0 + i * MIN));
  return out;
}

async function openGeneral(view: View, timeline: TimelineMessage[], patch: { firstUnread?: string; reads?: ReadMark[] }): Promise<void> {
  const snapshot = withGeneral(timeline);
  Object.assign(snapshot.open!, patch);
  await view.send({ type: 'host/snapshot', snapshot });
  await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
}

/** The timeline's rows as rendered: message ids, "NEW" for the line. */
const renderedRows = (view: View) =>
  view.page.locator('.timeline .row').evaluateAll((els) => els.filter((el) => !el.classList.contains('day')).map((el) => (el.classList.contains('unread') ? 'NEW' : el.getAttribute('data-id'))));

/** Whether the "New messages" line is inside the timeline's visible box. */
const lineInView = (view: View) =>
  view.page.evaluate(() => {
    const line = document.querySelector('.row.unread');
    if (!line) return false;
    const box = document.querySelector('.timeline')!.getBoundingClientRect();
    const r = line.getBoundingClientRect();
    // Its label in view (the row's top may sit a few px under the edge while rows above settle).
    return r.bottom > box.top + r.height / 2 && r.bottom <= box.bottom + 1;
  });

describe('webview: read state', () => {
  const harness = useHarness();

  test('the "New messages" line sits above the first unread message; no jump while it is in view', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, many(6), { firstUnread: 'm4' });
    const line = view.page.getByRole('separator', { name: 'New messages' });
    await line.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await renderedRows(view), ['m0', 'm1', 'm2', 'm3', 'NEW', 'm4', 'm5']);
    assert.equal(await line.innerText(), 'New messages');
    assert.ok(await lineInView(view));
    assert.equal(await view.page.getByRole('button', { name: /Jump to first unread/ }).count(), 0, 'nothing to jump to');
    // The message after the line starts a group of its own (its sender shows).
    assert.equal(await view.page.locator('[data-id="m4"] .sender').innerText(), 'bob');
    // A new message arrives: the line stays where it was.
    await view.send({ type: 'timeline/added', key: 'general', item: message('m6', 'bob', 'one more', T0 + 6 * MIN) });
    await view.page.locator('[data-id="m6"]').waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await renderedRows(view), ['m0', 'm1', 'm2', 'm3', 'NEW', 'm4', 'm5', 'm6']);
    view.assertClean();
  });

  test('"Jump to first unread" shows while the line is above the viewport; click or Enter brings it into view', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, many(80), { firstUnread: 'm20' });
    const jump = view.page.getByRole('button', { name: 'Jump to first unread' });
    await jump.waitFor({ timeout: WAIT_MS });
    assert.equal(await lineInView(view), false, 'opened at the latest message, the line is far above');
    await jump.click();
    await view.page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.id === 'm20', null, { timeout: WAIT_MS });
    assert.ok(await lineInView(view), 'the line is in view');
    await jump.waitFor({ state: 'detached', timeout: WAIT_MS });

    // Keyboard: back at the bottom, the button is a Tab stop; Enter jumps.
    await view.page.getByRole('button', { name: 'Jump to the latest message' }).click();
    await jump.waitFor({ timeout: WAIT_MS });
    await view.page.locator('.composer-input').focus();
    await view.page.keyboard.press('Shift+Tab');
    const order: string[] = [];
    for (let i = 0; i < 6 && !(await jump.evaluate((el) => el === document.activeElement)); i++) {
      order.push(await view.page.evaluate(() => document.activeElement?.className ?? ''));
      await view.page.keyboard.press('Shift+Tab');
    }
    assert.ok(await jump.evaluate((el) => el === document.activeElement), `Shift+Tab from the composer reaches the jump: ${order.join(' → ')}`);
    await view.page.keyboard.press('Enter');
    await view.page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.id === 'm20', null, { timeout: WAIT_MS });
    assert.ok(await lineInView(view));
    view.assertClean();
  });

  test('"Seen by" under the newest of my messages each member read, updated by reads/changed', async (t) => {
    const view = await harness().open(t);
    const timeline = [
      message('a1', 'alice', 'first of mine', T0),
      message('b1', 'bob', 'reply', T0 + MIN),
      message('a2', 'alice', 'second of mine', T0 + 2 * MIN),
      message('c1', 'carol', 'hm', T0 + 3 * MIN),
      message('a3', 'alice', 'third of mine', T0 + 4 * MIN),
    ];
    // bob read up to carol's c1 (so my a2, not a3); carol up to b1 (my a1); dave's mark names a message not here.
    await openGeneral(view, timeline, { reads: [{ user: 'bob', upTo: 'c1' }, { user: 'carol', upTo: 'b1' }, { user: 'dave', upTo: 'elsewhere' }] });
    const seen = (id: string) => view.page.locator(`[data-id="${id}"] .seen-by`);
    await seen('a2').waitFor({ timeout: WAIT_MS });
    assert.equal(await seen('a2').innerText(), 'Seen by bob');
    assert.equal(await seen('a1').innerText(), 'Seen by carol');
    assert.equal(await seen('a3').count(), 0);
    assert.equal(await view.page.locator('.seen-by').count(), 2, 'once per member, under the newest read');

    await view.send({ type: 'reads/changed', key: 'general', reads: [{ user: 'bob', upTo: 'a3' }, { user: 'carol', upTo: 'a3' }] });
    await seen('a3').waitFor({ timeout: WAIT_MS });
    assert.equal(await seen('a3').innerText(), 'Seen by bob and carol');
    assert.equal(await seen('a3').getAttribute('title'), 'Seen by bob, carol');
    assert.equal(await view.page.locator('.seen-by').count(), 1);
    await view.send({ type: 'reads/changed', key: 'random', reads: [{ user: 'bob', upTo: 'a1' }] });
    await view.send({ type: 'reads/changed', key: 'general', reads: [{ user: 'bob', upTo: 'a3' }, { user: 'carol', upTo: 'a3' }] });
    assert.equal(await view.page.locator('.seen-by').count(), 1, "another conversation's receipts change nothing here");
    view.assertClean();
  });
});
