// Search in the real view (Chromium): Ctrl+F or the toolbar button opens the box; typing posts
// one search/run per pause, and only the latest answer is shown; results show the conversation,
// sender, time and context with the searched words marked (as text, whatever a peer wrote);
// arrows choose, Enter posts search/open; the host's message/revealed scrolls to the message,
// loading older pages through it, and marks it. A full index's answer says from when it searched.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SearchHit, TimelineMessage } from '../../protocol/view.ts';
import { SEARCH_DEBOUNCE_MS } from '../../webview/conversation-actions.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { GENERAL_MEMBERS, message, withGeneral } from './fixtures.ts';

const MIN = 60_000;
const T0 = Date.now() - 200 * MIN;

const hit = (key: string, id: string, from: string, text: string, sentAt: number): SearchHit => ({ key, title: key, id, from, text, sentAt });

function many(from: number, to: number): TimelineMessage[] {
  const out: TimelineMessage[] = [];
  for (let i = from; i < to; i++) out.push(message(`r${i}`, i % 2 ? 'bob' : 'carol', `random talk ${i}`, T0 + i * MIN));
  return out;
}

const searchRuns = (view: View) => view.postedOf('search/run');

async function start(view: View): Promise<void> {
  await view.send({ type: 'host/snapshot', snapshot: withGeneral([message('g1', 'bob', 'hello', T0)]) });
  await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
}

describe('webview: search', () => {
  const harness = useHarness();

  test('Ctrl+F opens the box; typing posts one search/run per pause; a stale answer is ignored; Escape closes', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.page.locator('.composer-input').focus();
    await view.page.keyboard.press('Control+f');
    const box = view.page.getByRole('combobox', { name: 'Search messages in every conversation' });
    await box.waitFor({ timeout: WAIT_MS });
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: WAIT_MS });
    await view.page.keyboard.type('deploy');
    const first = await view.waitForPosted('search/run', { query: 'deploy' });
    assert.equal((await searchRuns(view)).length, 1, `one request for a burst of keys (debounced ${SEARCH_DEBOUNCE_MS} ms)`);
    await view.page.keyboard.type(' friday');
    const second = await view.waitForPosted('search/run', { query: 'deploy friday' });
    assert.deepEqual(second, { type: 'search/run', requestId: second.requestId, query: 'deploy friday' });

    // The first answer comes last but one: it is stale and not shown.
    await view.send({ type: 'request/completed', requestId: first.requestId, ok: true, results: [hit('general', 'stale', 'bob', 'deploy stale', T0)] });
    await view.send({ type: 'request/completed', requestId: second.requestId, ok: true, results: [hit('general', 'g9', 'bob', 'we deploy on Friday', T0)] });
    const results = view.page.getByRole('listbox', { name: 'Search results' });
    await results.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await results.getByRole('option').evaluateAll((els) => els.map((e) => e.querySelector('.search-result-text')?.textContent)), ['we deploy on Friday']);
    assert.match(await view.page.locator('.search-status').innerText(), /^1 message found/);

    await view.page.keyboard.press('Escape');
    await box.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('composer-input'), null, { timeout: WAIT_MS });
    // The toolbar button opens it again, with the query and results kept.
    await view.page.getByRole('button', { name: 'Search Messages (Ctrl+F)' }).click();
    await box.waitFor({ timeout: WAIT_MS });
    assert.equal(await box.inputValue(), 'deploy friday');
    assert.equal(await results.getByRole('option').count(), 1);
    view.assertClean();
  });

  test('a full search index: the answer says from when messages were searched, with results or none, and only with that answer', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.page.keyboard.press('Control+f');
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: WAIT_MS });
    const status = view.page.locator('.search-status');
    const coverage = view.page.locator('.search-coverage');
    const since = new Date(2026, 10, 3, 14, 5).getTime();
    const note = 'Searched messages since 3 Nov 2026, 14:05: older ones are not in the search index (it is full).';

    await view.page.keyboard.type('deploy');
    let asked = await view.waitForPosted('search/run', { query: 'deploy' });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, results: [hit('general', 'g9', 'bob', 'deploy friday', since + MIN)], searchedFrom: since });
    await coverage.waitFor({ timeout: WAIT_MS });
    assert.equal(await coverage.innerText(), note);
    assert.match(await status.innerText(), /^1 message found/);

    // Nothing found is not "nothing there": the note stays with an empty answer.
    await view.page.keyboard.type(' zebra');
    asked = await view.waitForPosted('search/run', { query: 'deploy zebra' });
    await coverage.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, results: [], searchedFrom: since });
    await coverage.waitFor({ timeout: WAIT_MS });
    assert.equal(await status.innerText(), `Nothing found for "deploy zebra".\n${note}`);

    // An answer from an index that is not full says nothing of the kind.
    await view.page.keyboard.press('Backspace');
    asked = await view.waitForPosted('search/run', { query: 'deploy zebr' });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, results: [] });
    await status.getByText('Nothing found for "deploy zebr".').waitFor({ timeout: WAIT_MS });
    assert.equal(await coverage.count(), 0);
    view.assertClean();
  });

  test('results: conversation, sender, time, words marked as text; hostile text stays text', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.page.keyboard.press('Control+f');
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: WAIT_MS });
    await view.page.keyboard.type('Deploy img');
    const asked = await view.waitForPosted('search/run', { query: 'Deploy img' });
    const hostile = '<img src=x onerror="window.__pwned=1">deploy \u202egnp.exe <b>img</b>';
    await view.send({
      type: 'request/completed',
      requestId: asked.requestId,
      ok: true,
      results: [hit('general', 'g2', 'bob', 'the DEPLOY script, then deploy again', T0 + 5 * MIN), { ...hit('random', 'r7', '<i>eve</i>', hostile, T0), title: '<script>alert(1)</script>' }],
    });
    const options = view.page.getByRole('option');
    await options.first().waitFor({ timeout: WAIT_MS });
    const first = options.nth(0);
    assert.equal(await first.locator('.search-result-title').innerText(), 'general');
    assert.equal(await first.locator('.sender').innerText(), 'bob');
    assert.ok((await first.locator('time').getAttribute('datetime'))?.startsWith(new Date(T0 + 5 * MIN).toISOString().slice(0, 16)));
    assert.deepEqual(await first.locator('mark').allInnerTexts(), ['DEPLOY', 'deploy'], 'every match marked, any case');
    const second = options.nth(1);
    assert.equal(await second.locator('.search-result-title').innerText(), '<script>alert(1)</script>');
    assert.equal(await second.locator('.sender').innerText(), '<i>eve</i>');
    assert.deepEqual(await second.locator('mark').allInnerTexts(), ['img', 'deploy', 'img']);
    assert.match(await second.locator('.search-result-text').innerText(), /<U\+202E>gnp\.exe/, 'a bidi override is shown, not obeyed');
    assert.equal(await view.page.locator('.search-panel img, .search-panel script, .search-panel b, .search-panel i').count(), 0, 'no markup from peers');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    view.assertClean();
  });

  test('arrows choose a result, Enter posts search/open; message/revealed scrolls to it (older pages through it) and marks it', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.page.keyboard.press('Control+f');
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: WAIT_MS });
    await view.page.keyboard.type('talk');
    const asked = await view.waitForPosted('search/run', { query: 'talk' });
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, results: [hit('random', 'r90', 'bob', 'random talk 90', T0 + 90 * MIN), hit('random', 'r10', 'bob', 'random talk 10', T0 + 10 * MIN)] });
    await view.page.getByRole('option').first().waitFor({ timeout: WAIT_MS });
    const box = view.page.locator('.search-input');
    assert.equal(await box.getAttribute('aria-activedescendant'), 'search-result-0');
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await view.page.getByRole('option', { selected: true }).locator('.search-result-text').innerText(), 'random talk 10');
    assert.equal(await box.getAttribute('aria-activedescendant'), 'search-result-1');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('search/open', { key: 'random', id: 'r10' });
    await box.waitFor({ state: 'detached', timeout: WAIT_MS });

    // The host opens the conversation (its newest page) and reveals the message, which is older.
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many(50, 100), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r10' });
    const page = await view.waitForPosted('history/page', { key: 'random', before: 'r50', through: 'r10' });
    await view.send({ type: 'request/completed', requestId: page.requestId, ok: true, page: { key: 'random', before: 'r50', items: many(5, 50), more: true } });
    const target = view.page.locator('.row.message.revealed[data-id="r10"]');
    await target.waitFor({ timeout: WAIT_MS });
    const inside = await target.evaluate((el) => {
      const box = document.querySelector('.timeline')!.getBoundingClientRect();
      const r = el.getBoundingClientRect();
      return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    });
    assert.ok(inside, 'the revealed message is in view');
    assert.equal(await view.page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id), 'r10', 'and has the focus');
    assert.notEqual(await target.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgba(0, 0, 0, 0)', 'marked');
    // The mark fades: it is a moment's highlight, not a state.
    await view.page.locator('.row.message.revealed').waitFor({ state: 'detached', timeout: WAIT_MS });
    // A mouse click on a result works the same.
    await view.page.keyboard.press('Control+f');
    await view.page.getByRole('option').nth(0).click();
    await view.waitForPosted('search/open', { key: 'random', id: 'r90' });
    view.assertClean();
  });

  test('a message that cannot be found says so in words: the pages read are kept, nothing is asked again', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many(50, 100), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.send({ type: 'message/revealed', key: 'random', id: 'lost' });
    const asked = await view.waitForPosted('history/page', { key: 'random', before: 'r50', through: 'lost' });
    const message = 'The message was not in the last 45 messages read back; scroll up to look further.';
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: false, error: { code: 'message.not_found', message }, page: { key: 'random', before: 'r50', items: many(5, 50), more: true } });
    const bar = view.page.getByRole('alert');
    await bar.waitFor({ timeout: WAIT_MS });
    assert.equal(await bar.locator('.error-text').innerText(), message);
    assert.equal((await view.postedOf('history/page')).filter((p) => p.through).length, 1, 'not asked again');
    // What was read back is there above, and scrolling up loads on from it (the loading row is not in error).
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: 0 }));
    await view.page.locator('[data-id="r5"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    const more = await view.waitForPosted('history/page', { key: 'random', before: 'r5' });
    assert.equal(await view.page.locator('.older-error').count(), 0);
    await view.send({ type: 'request/completed', requestId: more.requestId, ok: true, page: { key: 'random', before: 'r5', items: many(0, 5), more: false } });
    await view.page.locator('[data-id="r0"]').waitFor({ state: 'attached', timeout: WAIT_MS });

    // Nothing older exists: said at once, nothing asked.
    await view.page.getByRole('button', { name: 'Dismiss error' }).click();
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many(50, 60), more: false, members: GENERAL_MEMBERS, typing: [] });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r3' });
    await bar.waitFor({ timeout: WAIT_MS });
    assert.match(await bar.innerText(), /not in this conversation's history on this device/);
    assert.equal((await view.postedOf('history/page')).filter((p) => p.through === 'r3').length, 0);
    view.assertClean();
  });
});
