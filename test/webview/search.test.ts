// Search in the real view (Chromium): Ctrl+F or the toolbar button opens the box; typing posts
// one search/run per pause, and only the latest answer is shown; results show the conversation,
// sender, time and context with the searched words marked (as text, whatever a peer wrote);
// arrows choose, Enter posts search/open; the host's message/revealed scrolls to the message,
// asking for a window around it when not held (away from the newest until scrolled or jumped
// back), and marks it. A full index's answer says from when it searched.

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

/** Waits for the view to ask for the window around message `id` of #random, and answers it with `items`. */
async function answerAround(view: View, id: string, items: TimelineMessage[], more: boolean): Promise<void> {
  const asked = await view.waitForPosted('history/around', { key: 'random', id });
  await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, page: { key: 'random', around: id, items, more, newer: true } });
}

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
    const note = 'Searched all messages since 3 Nov 2026, 14:05; some older ones are not in the search index (it is full: whoever sent the most loses their oldest first).';

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

  test('arrows choose a result, Enter posts search/open; message/revealed asks for a window around it (however far back), scrolls to it and marks it', async (t) => {
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

    // The host opens the conversation (its newest page) and reveals the message, which is older:
    // one window around it, not pages back to it.
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many(50, 100), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r10' });
    await answerAround(view, 'r10', many(0, 30), false);
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
    assert.equal((await view.postedOf('history/page')).length, 0, 'no older page was read to get there');
    // The mark fades: it is a moment's highlight, not a state.
    await view.page.locator('.row.message.revealed').waitFor({ state: 'detached', timeout: WAIT_MS });
    // A mouse click on a result works the same.
    await view.page.keyboard.press('Control+f');
    await view.page.getByRole('option').nth(0).click();
    await view.waitForPosted('search/open', { key: 'random', id: 'r90' });
    view.assertClean();
  });

  test('away from the newest after a jump: live messages wait, scrolling down reads newer pages back to the newest, Latest and sending go to the newest', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many(950, 1000), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r10' });
    await answerAround(view, 'r10', many(0, 40), false);
    await view.page.locator('.row.message.revealed[data-id="r10"]').waitFor({ timeout: WAIT_MS });
    // The window ends with a row that loads newer messages; a live message is not put after it.
    const newerRow = view.page.locator('.row.newer');
    const latest = view.page.getByRole('button', { name: 'Jump to the latest message' });
    await view.send({ type: 'timeline/added', key: 'random', item: message('r1000', 'bob', 'live while away', T0 + 1000 * MIN) });
    await view.send({ type: 'timeline/added', key: 'random', item: message('r1001', 'bob', 'another', T0 + 1001 * MIN) });
    assert.equal(await view.page.locator('[data-id="r1000"]').count(), 0, 'not shown after r39 as if it came next');
    assert.equal(await latest.count(), 1, 'Latest is offered while away');

    // Scrolled to the end: the row there loads newer messages, asked after the newest held, put behind.
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await newerRow.waitFor({ state: 'attached', timeout: WAIT_MS });
    const next = await view.waitForPosted('history/newer', { key: 'random', after: 'r39' });
    await view.send({ type: 'request/completed', requestId: next.requestId, ok: true, page: { key: 'random', after: 'r39', items: many(40, 90), more: true, newer: true } });
    // Put behind what was read (the view did not move: r39 is still on screen); scrolled on, the last page.
    await view.page.locator('[data-id="r39"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await view.page.locator('[data-id="r89"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    // The last page reaches the newest (the host's own window, with what came meanwhile): live again.
    const last = await view.waitForPosted('history/newer', { key: 'random', after: 'r89' });
    await view.send({ type: 'request/completed', requestId: last.requestId, ok: true, page: { key: 'random', after: 'r89', items: [...many(90, 100), message('r1000', 'bob', 'live while away', T0 + 1000 * MIN), message('r1001', 'bob', 'another', T0 + 1001 * MIN)], more: true, newer: false } });
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await view.page.locator('[data-id="r1001"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    assert.equal(await newerRow.count(), 0, 'nothing newer to load');
    await view.send({ type: 'timeline/added', key: 'random', item: message('r1002', 'carol', 'live again', T0 + 1002 * MIN) });
    await view.page.locator('[data-id="r1002"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    assert.equal((await view.postedOf('history/newer')).length, 2, 'no page asked once at the newest');

    // A message held is scrolled to at once; one not held takes a window around it again.
    await view.send({ type: 'message/revealed', key: 'random', id: 'r3' });
    await view.page.locator('.row.message.revealed[data-id="r3"]').waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'message/revealed', key: 'random', id: 'r500' });
    const again = await view.waitForPosted('history/around', { key: 'random', id: 'r500' });
    assert.equal((await view.postedOf('history/around')).length, 2, 'r3 needed none');
    await view.send({ type: 'request/completed', requestId: again.requestId, ok: true, page: { key: 'random', around: 'r500', items: many(490, 530), more: true, newer: true } });
    await view.page.locator('.row.message.revealed[data-id="r500"]').waitFor({ timeout: WAIT_MS });
    // "Latest" (keyboard) opens the newest window, shown from its bottom.
    await latest.focus();
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('conversation/open', { key: 'random' });
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: [...many(960, 1000), message('r1002', 'carol', 'live again', T0 + 1002 * MIN)], more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.page.locator('[data-id="r1002"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    const atBottom = () => view.page.locator('.timeline').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 4);
    await view.page.waitForFunction(() => {
      const el = document.querySelector('.timeline')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight <= 4;
    }, null, { timeout: WAIT_MS });
    assert.ok(await atBottom(), 'the newest window is shown from its bottom');

    // Away once more, and a message sent: the view goes to the newest with it.
    await view.send({ type: 'message/revealed', key: 'random', id: 'r700' });
    await answerAround(view, 'r700', many(690, 730), true);
    await view.page.locator('.row.message.revealed[data-id="r700"]').waitFor({ timeout: WAIT_MS });
    const opens = (await view.postedOf('conversation/open')).length;
    await view.page.locator('.composer-input').fill('back to now');
    await view.page.locator('.composer-input').press('Enter');
    await view.waitForPosted('message/send', { key: 'random', text: 'back to now' });
    assert.equal((await view.postedOf('conversation/open')).length, opens + 1, 'the newest window is asked for');
    view.assertClean();
  });

  test('a message that cannot be found says so in words: the timeline stays, nothing is asked again', async (t) => {
    const view = await harness().open(t);
    await start(view);
    await view.send({ type: 'conversation/opened', key: 'random', title: 'random', direct: false, timeline: many(50, 100), more: true, members: GENERAL_MEMBERS, typing: [] });
    await view.send({ type: 'message/revealed', key: 'random', id: 'lost' });
    const asked = await view.waitForPosted('history/around', { key: 'random', id: 'lost' });
    const message = "That message is not in this conversation's history on this device (it may not have arrived here, or it is older than what is kept).";
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: false, error: { code: 'message.not_found', message } });
    const bar = view.page.getByRole('alert');
    await bar.waitFor({ timeout: WAIT_MS });
    assert.equal(await bar.locator('.error-text').innerText(), message);
    assert.equal((await view.postedOf('history/around')).length, 1, 'not asked again');
    assert.equal(await view.page.locator('.row.newer').count(), 0, 'still at the newest');
    await view.page.locator('[data-id="r99"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    view.assertClean();
  });
});
