// Screenshots of a conversation with everything issue 12 adds, in a dark, a light and a high
// contrast theme (test-results/webview-conversation-dark.png, -light.png, -high-contrast.png): a reply with its quote, reactions
// (mine highlighted), an edited and a deleted message, the "New messages" line, "Seen by", and
// the search box with results. Each is checked to be there and to take its colours from the theme.

import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TimelineMessage } from '../../protocol/view.ts';
import { REPO_ROOT, useHarness, WAIT_MS, type Theme, type View } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

const MIN = 60_000;
const T0 = new Date();
T0.setHours(9, 30, 0, 0);
const at = (m: number) => T0.getTime() + m * MIN;

const TIMELINE: TimelineMessage[] = [
  message('d1', 'bob', 'Morning! The build on `main` is red again.', at(0)),
  message('d2', 'alice', "Looking: it's the flaky cache test.", at(1), { delivered: { count: 2, of: 2 }, reactions: [{ emoji: '👀', users: ['bob', 'carol'], mine: false }] }),
  message('d3', 'carol', 'Can we still ship on *Friday*?', at(3), {
    edited: true,
    reactions: [
      { emoji: '🎉', users: ['alice', 'bob'], mine: true },
      { emoji: '👍', users: ['bob'], mine: false },
    ],
  }),
  message('d4', 'bob', '', at(4), { deleted: true }),
  message('d5', 'bob', "Thanks, I'll rerun it once the fix lands.", at(12), { replyTo: { id: 'd2', from: 'alice', excerpt: "Looking: it's the flaky cache test." } }),
  message('d6', 'alice', 'Fixed in #128, the deploy is green.', at(14), { delivered: { count: 2, of: 2 } }),
];

async function shoot(view: View, theme: Theme): Promise<string> {
  const snapshot = withGeneral(TIMELINE);
  snapshot.open!.firstUnread = 'd5';
  snapshot.open!.reads = [{ user: 'bob', upTo: 'd6' }];
  await view.send({ type: 'host/snapshot', snapshot });
  await view.page.locator('[data-id="d6"] .seen-by').waitFor({ timeout: WAIT_MS });
  await view.page.keyboard.press('Control+f');
  await view.page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: WAIT_MS });
  await view.page.keyboard.type('deploy');
  const asked = await view.waitForPosted('search/run', { query: 'deploy' });
  await view.send({
    type: 'request/completed',
    requestId: asked.requestId,
    ok: true,
    results: [
      { key: 'general', title: 'general', id: 'd6', from: 'alice', text: 'Fixed in #128, the deploy is green.', sentAt: at(14) },
      { key: 'random', title: 'random', id: 'x1', from: 'carol', text: 'who owns the deploy script these days?', sentAt: at(-600) },
    ],
  });
  await view.page.locator('.search-result mark').first().waitFor({ timeout: WAIT_MS });
  // Everything the screenshot is meant to show is on the page.
  for (const selector of ['.reply-quote', '.reaction.mine', '.edited-mark', '.deleted-text', '.row.unread', '.seen-by', '.search-result mark']) {
    assert.ok(await view.page.locator(selector).first().isVisible(), `${selector} is shown`);
  }
  await view.page.evaluate(() => document.fonts.ready);
  const dir = join(REPO_ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `webview-conversation-${theme}.png`);
  await view.page.screenshot({ path });
  assert.ok(statSync(path).size > 10_000, `${path} holds a picture`);
  return view.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
}

describe('webview: screenshots of a conversation (issue 12)', () => {
  const harness = useHarness();

  test('dark and light: reply, reactions, edited, deleted, New messages, Seen by, search results', async (t) => {
    const dark = await harness().open(t, { width: 400, height: 1000, theme: 'dark' });
    const light = await harness().open(t, { width: 400, height: 1000, theme: 'light' });
    const darkBackground = await shoot(dark, 'dark');
    const lightBackground = await shoot(light, 'light');
    assert.equal(darkBackground, 'rgb(24, 24, 24)');
    assert.equal(lightBackground, 'rgb(248, 248, 248)', 'the colours come from the theme');
    const chip = (v: View) => v.page.locator('[data-id="d3"] .reaction.mine').evaluate((el) => getComputedStyle(el).color);
    assert.notEqual(await chip(dark), await chip(light));
    dark.assertClean();
    light.assertClean();
  });

  test('high contrast: reactions, the reply quote and the revealed mark are drawn with the contrast borders', async (t) => {
    const view = await harness().open(t, { width: 400, height: 1000, theme: 'high-contrast' });
    await shoot(view, 'high-contrast');
    const mine = view.page.locator('[data-id="d3"] .reaction.mine');
    assert.equal(await mine.evaluate((el) => getComputedStyle(el).outlineColor), 'rgb(243, 133, 24)', 'my reaction: the active contrast border');
    assert.equal(await view.page.locator('[data-id="d3"] .reaction:not(.mine):not(.add-reaction)').evaluate((el) => getComputedStyle(el).borderTopColor), 'rgb(111, 195, 223)');
    assert.equal(await view.page.locator('.search-result mark').first().evaluate((el) => getComputedStyle(el).outlineColor), 'rgb(243, 133, 24)', 'a match is outlined');
    view.assertClean();
  });
});
