// Other people's text is Markdown, rendered SAFELY: raw HTML stays text, no element or handler
// from a message ever reaches the DOM, no dialog fires, nothing is fetched, and links are only
// http(s)/mailto.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<a href="javascript:alert(1)">click</a>',
  '[innocent](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![tracking pixel](https://evil.example/pixel.png)',
  '<svg onload=alert(1)><style>body{display:none}</style>',
  '`<b>not bold</b>` and <b>not bold either</b>',
];

describe('webview: Markdown is rendered safely', () => {
  const harness = useHarness();

  test('hostile HTML in messages shows as text and creates no elements', async (t) => {
    const view = await harness().open(t);
    const now = Date.now();
    await view.send({ type: 'host/snapshot', snapshot: withGeneral([message('ok', 'bob', 'plain **bold** _em_', now - 1000)]) });
    await view.page.locator('[data-id="ok"]').waitFor({ timeout: WAIT_MS });
    // Some in the first timeline, some arriving as new messages.
    for (const [i, text] of HOSTILE.entries()) await view.send({ type: 'timeline/added', key: 'general', item: message(`h${i}`, 'mallory', text, now + i) });
    await view.page.locator(`[data-id="h${HOSTILE.length - 1}"]`).waitFor({ timeout: WAIT_MS });

    const body = (id: string) => view.page.locator(`[data-id="${id}"] .message-body`);
    assert.equal(await body('h0').innerText(), '<script>alert(1)</script>');
    assert.equal(await body('h1').innerText(), '<img src=x onerror=alert(1)>');
    const timeline = view.page.locator('.timeline');
    for (const tag of ['script', 'img', 'iframe', 'svg', 'style', 'b', 'object', 'embed']) {
      assert.equal(await timeline.locator(tag).count(), 0, `no <${tag}> from a message`);
    }
    const handlers = await timeline.evaluate((el) => [...el.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')));
    assert.deepEqual(handlers, [], 'no inline event handler attributes');
    const hrefs = await timeline.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const href of hrefs) assert.ok(href === '#' || /^(https?:|mailto:)/.test(href ?? ''), `unsafe link ${href}`);
    assert.equal(await body('h4').locator('a').count(), 0, 'javascript: and data: links are not links');
    assert.match(await body('h4').innerText(), /innocent/);
    assert.equal(await body('h5').locator('a').count(), 1, 'an image becomes a plain link to it, never a fetch');
    assert.equal(await body('h7').locator('code').innerText(), '<b>not bold</b>');
    assert.equal(await view.page.locator('[data-id="ok"] strong').innerText(), 'bold', 'Markdown itself still works');
    assert.equal(await view.page.locator('[data-id="ok"] em').innerText(), 'em');

    // Markdown renders in the page only when the view renders it: scroll everything through once
    // more and give scripts a chance to run before checking that nothing did.
    await view.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.deepEqual(view.dialogs, [], 'no dialog fired');
    assert.deepEqual(view.blocked, [], 'nothing was fetched');
    view.assertClean();
  });

  test('links are linkified and safe; file names are not links', async (t) => {
    const view = await harness().open(t);
    await view.send({
      type: 'host/snapshot',
      snapshot: withGeneral([message('l', 'bob', 'docs at https://example.com/a?b=1 — see main.ts and [the spec](https://spec.example/x "Spec")', Date.now())]),
    });
    const links = view.page.locator('[data-id="l"] a');
    await links.first().waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await links.evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel')])), [
      ['https://example.com/a?b=1', 'https://example.com/a?b=1', 'noopener noreferrer'],
      ['https://spec.example/x', 'the spec', 'noopener noreferrer'],
    ]);
  });

  test('no link to a command:, vscode:, file: or javascript: URI, however it is written', async (t) => {
    const view = await harness().open(t);
    const tricks = [
      '[run](command:workbench.action.terminal.new)',
      '<command:workbench.action.terminal.new>',
      '[x](CoMmAnD:workbench.action.openSettings)',
      '[x]( command:foo )',
      '[x](&#99;ommand:foo)',
      '[x](command%3Afoo)',
      '[ext](vscode:extension/evil.ext)',
      '[open](vscode://file/etc/passwd)',
      '[f](file:///etc/passwd)',
      '[j](java\tscript:alert(1))',
      '[ref][r]\n\n[r]: command:foo',
      'command:workbench.action.terminal.new and vscode://file/etc/passwd',
    ];
    const now = Date.now();
    await view.send({ type: 'host/snapshot', snapshot: withGeneral(tricks.map((text, i) => message(`c${i}`, 'mallory', text, now + i))) });
    await view.page.locator(`[data-id="c${tricks.length - 1}"]`).waitFor({ timeout: WAIT_MS });
    const hrefs = await view.page.locator('.timeline a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const href of hrefs) assert.ok(href === '#' || /^(https?:\/\/|mailto:)/.test(href ?? ''), `unsafe link ${href}`);
    assert.equal(hrefs.filter((h) => h !== '#').length, 0, 'none of them is a link at all');
    assert.match(await view.page.locator('[data-id="c0"] .message-body').innerText(), /run/);
    view.assertClean();
  });
});

