// Names and paths chosen by other people, in the real view (Chromium): rooms and users named like
// Object.prototype's members keep their own drafts, unread counts and collapsed sections across
// hide/show; a snippet's header shows the whole path its link opens; controls and bidi overrides
// in names and text are shown, not obeyed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ViewSnapshot } from '../../protocol/view.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { loggedIn, member, message, notice, person, room, withGeneral } from './fixtures.ts';

const NAMES = ['__proto__', 'constructor', 'toString'] as const;

function prototypeSnapshot(): ViewSnapshot {
  return loggedIn({
    rooms: NAMES.map((name, i) => room(name, { unread: i + 1, mentions: i === 2 ? 1 : 0 })),
    people: NAMES.map((name) => person(name)),
    directory: NAMES.map((name) => ({ id: `id-${name}`, name, private: false, members: 2, online: 1, member: true })),
  });
}

async function open(view: View, key: string): Promise<void> {
  await view.page.locator(`.conversation[data-key="${key}"]`).click();
  await view.waitForPosted('conversation/open', { key });
  await view.send({ type: 'conversation/opened', key, title: key, direct: false, timeline: [], members: [member('alice'), member(key)], typing: [] });
  await view.page.locator(`.chat[data-key="${key}"] .composer-input`).waitFor({ timeout: WAIT_MS });
}

describe('webview: names and paths from other people', () => {
  const harness = useHarness();

  test('rooms and users named __proto__, constructor, toString keep drafts, unread counts and collapsed sections across hide/show', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: prototypeSnapshot() });
    for (const [i, name] of NAMES.entries()) {
      const item = view.page.locator(`.conversation[data-key="${name}"]`);
      await item.waitFor({ timeout: WAIT_MS });
      assert.equal(await item.locator('.item-title').innerText(), name);
      assert.equal(await item.locator('.unread-badge').innerText(), String(i + 1));
    }
    for (const name of NAMES) {
      await open(view, name);
      const composer = view.page.locator('.composer-input');
      assert.equal(await composer.inputValue(), '', `no draft inherited by ${name}`);
      await composer.pressSequentially(`draft for ${name}`);
    }
    await view.page.getByRole('button', { name: /^People/ }).click();
    await view.page.getByRole('button', { name: /^Directory/ }).click();
    assert.equal(await view.page.getByRole('button', { name: /^Rooms/ }).getAttribute('aria-expanded'), 'true');

    await view.reload();
    await view.send({ type: 'host/snapshot', snapshot: prototypeSnapshot() });
    // The last conversation open was toString: the view asks for it again.
    await view.waitForPosted('conversation/open', { key: 'toString' });
    assert.equal(await view.page.getByRole('button', { name: /^People/ }).getAttribute('aria-expanded'), 'false');
    assert.equal(await view.page.getByRole('button', { name: /^Directory/ }).getAttribute('aria-expanded'), 'false');
    assert.equal(await view.page.getByRole('button', { name: /^Rooms/ }).getAttribute('aria-expanded'), 'true');
    for (const [i, name] of NAMES.entries()) {
      assert.equal(await view.page.locator(`.conversation[data-key="${name}"] .unread-badge`).innerText(), String(i + 1));
    }
    for (const name of NAMES) {
      await open(view, name);
      assert.equal(await view.page.locator('.composer-input').inputValue(), `draft for ${name}`);
    }
    await view.page.locator('.composer-input').press('Enter');
    await view.waitForPosted('message/send', { key: 'toString', text: 'draft for toString' });
    assert.equal(await view.page.evaluate(() => Object.getPrototypeOf({}) === Object.prototype && typeof ({} as { constructor: unknown }).constructor === 'function'), true);
    view.assertClean();
  });

  test("a snippet's header shows the file's name first, its language label whole, and the whole path its link opens, in a narrow view too", async (t) => {
    const view = await harness().open(t, { width: 300 });
    const long = `src/${'a-rather-long-directory-name/'.repeat(6)}deeply-nested-file-name.ts`;
    const snippets = [
      { id: 's1', path: '../../../../../etc/hostname', language: 'ts', startLine: 3, endLine: 4 },
      { id: 's2', path: long, language: 'ts', startLine: 1, endLine: 1 },
      { id: 's3', path: 'a/\u202Esj.exe\x1b]0;x\x07', language: '<img src=x>', startLine: 1e15, endLine: 2 },
      { id: 's4', path: `docs/${'notes-folder/'.repeat(6)}end.txt`, language: 'plaintext', startLine: 7, endLine: 9 },
    ];
    const now = Date.now();
    await view.send({
      type: 'host/snapshot',
      snapshot: withGeneral(snippets.map((s, i) => message(s.id, 'mallory', 'look', now + i, { snippet: { language: s.language, path: s.path, startLine: s.startLine, endLine: s.endLine, code: 'x\ny' } }))),
    });
    const header = (id: string) => view.page.locator(`[data-id="${id}"] .snippet-header`);
    await header('s3').waitFor({ timeout: WAIT_MS });

    for (const id of ['s1', 's2']) {
      const s = snippets.find((x) => x.id === id)!;
      const link = header(id).locator('.snippet-link');
      assert.equal(await link.locator('.snippet-path').innerText(), s.path, 'the whole path is on screen');
      assert.equal(await link.getAttribute('title'), `Open ${s.path} at ${s.startLine === s.endLine ? 'line 1' : `lines ${s.startLine}–${s.endLine}`}, in your workspace`);
      assert.equal(await link.getAttribute('aria-label'), await link.getAttribute('title'));
      const cut = await link.evaluate((el) => el.scrollWidth > el.clientWidth + 1 || getComputedStyle(el).textOverflow === 'ellipsis');
      assert.equal(cut, false, `${id}: the path is wrapped, not cut`);
      const box = await header(id).boundingBox();
      assert.ok(box && box.x + box.width <= 300, 'the header stays inside the view');
    }
    await header('s1').locator('.snippet-link').click();
    assert.deepEqual(await view.waitForPosted('snippet/open', { path: '../../../../../etc/hostname' }), { type: 'snippet/open', path: '../../../../../etc/hostname', line: 3, endLine: 4, message: { key: 'general', id: 's1' } });

    // A long path: the file's name comes first, and the language label is one line ("PLAINTEXT", not "PLAINTE / XT").
    const s4 = header('s4');
    assert.equal(await s4.locator('.snippet-file').innerText(), 'end.txt');
    assert.equal(await s4.locator('.snippet-line').innerText(), ':7–9');
    const lang = s4.locator('.snippet-lang');
    assert.equal(await lang.innerText(), 'PLAINTEXT');
    const lines = await lang.evaluate((el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)));
    assert.equal(lines, 1, 'the language label is on one line');
    const [file, path] = await Promise.all([s4.locator('.snippet-file').boundingBox(), s4.locator('.snippet-path').boundingBox()]);
    assert.ok(file && path && file.y < path.y, 'the file name is above the path');

    // Hidden characters show; a junk language id is a plain label; a huge line number is bounded.
    assert.equal(await header('s3').locator('.snippet-path').innerText(), 'a/<U+202E>sj.exe^[]0;x^G');
    assert.equal(await header('s3').locator('.snippet-lang').innerText(), 'TEXT');
    assert.equal(await header('s3').locator('img').count(), 0);
    await header('s3').locator('.snippet-link').click();
    const posted = await view.waitForPosted('snippet/open', { path: snippets[2]!.path });
    assert.equal(posted.line, 10_000_000);
    view.assertClean();
  });

  test('controls and bidi overrides in names, messages and notices are shown, not obeyed', async (t) => {
    const view = await harness().open(t);
    const now = Date.now();
    await view.send({
      type: 'host/snapshot',
      snapshot: withGeneral(
        [
          message('m1', 'mal\u202Elory', 'invoice\u202Etxt.exe and \x1b[2J and \u009b and zero\u200bwidth', now),
          notice('n1', 'ev\u2066il joined\u2069', now + 1),
        ],
        { people: [person('e\u202Eve')] },
      ),
    });
    await view.page.locator('[data-id="n1"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.locator('[data-id="m1"] .sender').innerText(), 'mal<U+202E>lory');
    assert.equal(await view.page.locator('[data-id="m1"] .message-body').innerText(), 'invoice<U+202E>txt.exe and ^[[2J and <U+009B> and zero<U+200B>width');
    assert.equal(await view.page.locator('[data-id="n1"] .notice-text').innerText(), 'ev<U+2066>il joined<U+2069>');
    assert.match(await view.page.locator('.person .item-title').innerText(), /^e<U\+202E>ve$/);
    const text = await view.page.locator('body').innerText();
    assert.doesNotMatch(text, /[\u202a-\u202e\u2066-\u2069\u200b\u001b\u0080-\u009f]/, 'no hidden character reaches the page text');
    view.assertClean();
  });
});
