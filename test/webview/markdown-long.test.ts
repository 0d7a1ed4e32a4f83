// What one message can cost the view's Markdown (webview/markdown.tsx), in Chromium: any member
// could send 64 KiB of "a\n\n" (21,000 paragraphs: a second of the view's thread and 9 MiB of
// tokens kept for each; 902 MiB after 100 in an attacker's probe). A text past MARKDOWN_MAX_CHARS
// is shown as its plain lines, unparsed (mentions still marked, controls shown); short ones stay
// Markdown.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

describe('webview: a long message is plain text', () => {
  const harness = useHarness();

  test('64 KiB of empty paragraphs: one plain block, not 21,000 paragraphs; a short message is still Markdown', async (t) => {
    const view = await harness().open(t);
    const now = Date.now();
    const long = `@alice look **not bold**\u202e\n${'a\n\n'.repeat(Math.floor((64 * 1024) / 3) - 20)}`;
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([message('long', 'mallory', long, now - 1000)]) });
    await view.page.locator('[data-id="long"]').waitFor({ timeout: WAIT_MS });
    const body = view.page.locator('[data-id="long"] .message-body');
    assert.equal(await body.locator('p').count(), 1, 'one block');
    assert.equal(await body.locator('p.plain-text').count(), 1);
    assert.equal(await body.locator('strong').count(), 0, 'not parsed');
    assert.equal(await body.locator('.mention').count(), 1, 'a mention is still marked');
    assert.ok(!(await body.innerText()).includes('\u202e'), 'a bidi override is shown, not obeyed');
    assert.equal(await body.evaluate((el) => getComputedStyle(el.querySelector('p')!).whiteSpace), 'pre-wrap', 'its lines kept');
    await view.send({ type: 'timeline/added', key: 'general', item: message('short', 'bob', 'plain **bold**', now) });
    await view.page.locator('[data-id="short"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.locator('[data-id="short"] .message-body strong').count(), 1, 'a short message is Markdown');
    view.assertClean();
  });
});
