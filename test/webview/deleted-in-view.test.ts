// A deleted or edited message's text does not stay in the view: search results and the reply
// bar follow `message/updated` like the timeline does (webview/updated-elsewhere.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SearchHit } from '../../protocol/view.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { message } from './fixtures.ts';
import { openGeneral, focusRow, focusOn, T0, MIN } from './message-steps.ts';

const hit = (key: string, id: string, from: string, text: string, sentAt: number): SearchHit => ({ key, title: key, id, from, text, sentAt });
const SECRET = 'the launch code is 1234';

/** Opens the search box, asks `query` and answers it with `results`; returns the results list. */
async function searched(view: View, query: string, results: SearchHit[]) {
  await view.page.keyboard.press('Control+f');
  await focusOn(view, '.search-input');
  await view.page.keyboard.type(query);
  const run = await view.waitForPosted('search/run', { query });
  await view.send({ type: 'request/completed', requestId: run.requestId, ok: true, results });
  const list = view.page.getByRole('listbox', { name: 'Search results' });
  await list.waitFor({ timeout: WAIT_MS });
  return list;
}

const optionTexts = (view: View) => view.page.locator('#search-results [role="option"]').evaluateAll((els) => els.map((e) => e.textContent ?? ''));

/** Focuses message `id` and starts a reply to it with "r"; returns the reply bar. */
async function replyingTo(view: View, id: string) {
  await focusRow(view, id);
  await view.page.keyboard.press('r');
  const bar = view.page.locator('.reply-bar');
  await bar.waitFor({ timeout: WAIT_MS });
  return bar;
}

describe('a deleted or edited message in search results and the reply bar', () => {
  const harness = useHarness();

  test('a deleted message leaves the search results, also after closing and reopening the box', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', SECRET, T0), message('m2', 'alice', 'launch at noon', T0 + MIN)]);
    await searched(view, 'launch', [hit('general', 'm1', 'bob', SECRET, T0), hit('general', 'm2', 'alice', 'launch at noon', T0 + MIN)]);
    await view.send({ type: 'message/updated', key: 'general', message: message('m1', 'bob', '', T0, { deleted: true }) });
    await view.page.waitForFunction(() => document.querySelectorAll('#search-results [role="option"]').length === 1, null, { timeout: WAIT_MS });
    const texts = await optionTexts(view);
    assert.ok(texts.every((s) => !s.includes('1234')), `no result shows the deleted text: ${JSON.stringify(texts)}`);
    assert.ok(texts[0]!.includes('launch at noon'), 'the other result stays');
    await view.page.keyboard.press('Escape');
    await view.page.getByRole('button', { name: 'Search Messages (Ctrl+F)' }).click();
    await focusOn(view, '.search-input');
    const again = await optionTexts(view);
    assert.ok(again.every((s) => !s.includes('1234')), `reopened, no result shows the deleted text: ${JSON.stringify(again)}`);
    assert.equal(await view.page.getByText('1234').count(), 0, 'the deleted text is nowhere on the page');
  });

  test('a deleted message of a conversation that is not open leaves the results too', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m2', 'alice', 'mine', T0 + MIN)]);
    await searched(view, 'launch', [hit('random', 'r1', 'bob', SECRET, T0)]);
    await view.send({ type: 'message/updated', key: 'random', message: message('r1', 'bob', '', T0, { deleted: true }) });
    await view.page.locator('#search-results').waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal(await view.page.getByText('1234').count(), 0);
  });

  test('the chosen result stays the same message when an earlier one is deleted, and Enter opens it', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', 'launch one', T0), message('m2', 'bob', 'launch two', T0 + MIN), message('m3', 'bob', 'launch three', T0 + 2 * MIN)]);
    await searched(view, 'launch', [hit('general', 'm1', 'bob', 'launch one', T0), hit('general', 'm2', 'bob', 'launch two', T0 + MIN), hit('general', 'm3', 'bob', 'launch three', T0 + 2 * MIN)]);
    await view.page.keyboard.press('ArrowDown');
    await view.page.keyboard.press('ArrowDown');
    await view.page.locator('#search-results [aria-selected="true"]', { hasText: 'launch three' }).waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'message/updated', key: 'general', message: message('m1', 'bob', '', T0, { deleted: true }) });
    await view.page.waitForFunction(() => document.querySelectorAll('#search-results [role="option"]').length === 2, null, { timeout: WAIT_MS });
    assert.match((await view.page.locator('#search-results [aria-selected="true"]').innerText()), /launch three/);
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('search/open', { key: 'general', id: 'm3' });
  });

  test('an edited message shows its new text in the search results', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', 'meet at 5 for the launch', T0)]);
    await searched(view, 'launch', [hit('general', 'm1', 'bob', 'meet at 5 for the launch', T0)]);
    await view.send({ type: 'message/updated', key: 'general', message: message('m1', 'bob', 'meet at 7 for the launch', T0, { edited: true }) });
    await view.page.waitForFunction(() => document.querySelector('#search-results [role="option"]')?.textContent?.includes('meet at 7') ?? false, null, { timeout: WAIT_MS });
    assert.ok(!(await optionTexts(view))[0]!.includes('meet at 5'), 'the old text is gone');
  });

  test('the reply bar says the message was deleted, and the reply is not sent', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', SECRET, T0), message('m2', 'alice', 'mine', T0 + MIN)]);
    const bar = await replyingTo(view, 'm1');
    await view.send({ type: 'message/updated', key: 'general', message: message('m1', 'bob', '', T0, { deleted: true }) });
    await bar.getByText('message deleted').waitFor({ timeout: WAIT_MS });
    assert.ok(!(await bar.innerText()).includes('1234'), 'the deleted text left the reply bar');
    await view.clearPosted();
    await view.page.locator('.composer-input').fill('ok, noted');
    await view.page.locator('.composer-input').press('Enter');
    await view.page.locator('.error-bar').getByText(/replying to was deleted/).waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await view.postedOf('message/send'), [], 'no reply to a deleted message is sent');
    assert.equal(await view.page.locator('.composer-input').inputValue(), 'ok, noted', 'the text stays in the box');
    // Cancelling the reply lets it go as a plain message.
    await view.page.locator('.composer-input').press('Escape');
    await bar.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.page.locator('.composer-input').press('Enter');
    const sent = await view.waitForPosted('message/send', { key: 'general', text: 'ok, noted' });
    assert.equal(sent.replyTo, undefined);
  });

  test('the reply bar shows the new text after an edit', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', 'meet at 5', T0), message('m2', 'alice', 'mine', T0 + MIN)]);
    const bar = await replyingTo(view, 'm1');
    await view.send({ type: 'message/updated', key: 'general', message: message('m1', 'bob', 'meet at 7', T0, { edited: true }) });
    await bar.getByText('meet at 7').waitFor({ timeout: WAIT_MS });
    assert.ok(!(await bar.innerText()).includes('meet at 5'), 'the old text left the reply bar');
  });
});
