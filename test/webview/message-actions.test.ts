// Replies and reactions in the real view (Chromium), by keyboard and by mouse: what the view posts
// (protocol/view.ts requests), what it shows when the host answers with `message/updated`, and
// that a quote leads to the original, older pages loaded through it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TimelineItem } from '../../protocol/view.ts';
import { useHarness, WAIT_MS } from './harness.ts';
import { message } from './fixtures.ts';
import { MIN, T0, focusOn, focusRow, focusedId, many, openGeneral, revealedInView, row } from './message-steps.ts';

describe('webview: replies and reactions', () => {
  const harness = useHarness();

  test('reply by keyboard: R on a message shows "Replying to", Escape cancels, Enter sends with replyTo', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', 'can someone review **#42**?', T0), message('m2', 'alice', 'mine', T0 + MIN)]);
    await focusRow(view, 'm1');
    await view.page.keyboard.press('r');
    const bar = view.page.locator('.reply-bar');
    await bar.waitFor({ timeout: WAIT_MS });
    assert.equal(await bar.innerText(), 'Replying to bob: can someone review **#42**?');
    const composer = view.page.locator('.composer-input');
    await view.page.waitForFunction(() => document.activeElement?.classList.contains('composer-input'), null, { timeout: WAIT_MS });
    assert.match((await composer.getAttribute('aria-label')) ?? '', /^Reply to bob in general/);
    await view.page.keyboard.press('Escape');
    await bar.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.ok(await composer.evaluate((el) => el === document.activeElement), 'the first Escape cancels the reply, the composer keeps the focus');

    await focusRow(view, 'm1');
    await view.page.keyboard.press('Shift+R');
    await bar.waitFor({ timeout: WAIT_MS });
    await focusOn(view, '.composer-input');
    await view.page.keyboard.type('on it');
    await view.page.keyboard.press('Enter');
    const sent = await view.waitForPosted('message/send', { text: 'on it' });
    assert.deepEqual(sent, { type: 'message/send', requestId: sent.requestId, key: 'general', text: 'on it', replyTo: 'm1' });
    await bar.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.page.keyboard.type('plain');
    await view.page.keyboard.press('Enter');
    const plain = await view.waitForPosted('message/send', { text: 'plain' });
    assert.equal(plain.replyTo, undefined, 'the next message is not a reply');
    view.assertClean();
  });

  test('reply by mouse: the toolbar on hover has Reply, React, and Edit and Delete only on my messages', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m1', 'bob', 'hello', T0), message('m2', 'alice', 'mine', T0 + MIN)]);
    const theirs = row(view, 'm1');
    await theirs.hover();
    const toolbar = theirs.getByRole('toolbar', { name: 'Message actions' });
    await toolbar.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.deepEqual(await toolbar.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))), ['Reply (R)', 'Add reaction (+)']);
    assert.deepEqual(await toolbar.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('title'))), ['Reply (R)', 'Add reaction (+)']);
    const mine = row(view, 'm2');
    await mine.hover();
    assert.deepEqual(await mine.getByRole('toolbar').getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))), [
      'Reply (R)',
      'Add reaction (+)',
      'Edit (E)',
      'Delete (Delete)',
    ]);
    assert.equal(await theirs.locator('.message-actions:visible').count(), 0, 'the toolbar of a row not hovered is not shown');

    await theirs.hover();
    await theirs.getByRole('button', { name: 'Reply (R)' }).click();
    await view.page.locator('.reply-bar').waitFor({ timeout: WAIT_MS });
    await view.page.locator('.composer-input').pressSequentially('clicked');
    await view.page.getByRole('button', { name: 'Send (Enter)' }).click();
    await view.waitForPosted('message/send', { text: 'clicked', replyTo: 'm1' });

    // Keyboard: Right from a focused message enters its toolbar, Left/Right move, Enter acts.
    await focusRow(view, 'm2');
    await view.page.keyboard.press('ArrowRight');
    await focusOn(view, '.row.message[data-id="m2"] .message-actions button[aria-label="Reply (R)"]');
    await view.page.keyboard.press('ArrowRight');
    await view.page.keyboard.press('ArrowRight');
    await focusOn(view, '.row.message[data-id="m2"] .message-actions button[aria-label="Edit (E)"]');
    await view.page.keyboard.press('Escape');
    await focusOn(view, '.row.message[data-id="m2"]');
    await view.page.keyboard.press('ArrowRight');
    await view.page.keyboard.press('ArrowUp');
    await focusOn(view, '.row.message[data-id="m1"]');

    // Keys do nothing on another's message that only its author may do.
    await focusRow(view, 'm1');
    await view.page.keyboard.press('e');
    await view.page.keyboard.press('Delete');
    assert.equal(await view.page.locator('.edit-box, .row .confirm-bar').count(), 0);
    view.assertClean();
  });

  test("a reply's quote scrolls to the original and marks it; one not loaded comes with history/page through", async (t) => {
    const view = await harness().open(t);
    const timeline: TimelineItem[] = [
      ...many(1, 60),
      message('r1', 'carol', 'agreed', T0 + 61 * 20_000, { replyTo: { id: 'm1', from: 'carol', excerpt: 'm number 1' } }),
      message('r2', 'bob', 'as I said back then', T0 + 62 * 20_000, { replyTo: { id: 'old5', from: 'bob', excerpt: 'the old plan' } }),
      message('r3', 'bob', 'and this', T0 + 63 * 20_000, { replyTo: { id: 'gone' } }),
    ];
    await openGeneral(view, timeline, true);
    const quote = row(view, 'r1').locator('.reply-quote');
    await quote.waitFor({ timeout: WAIT_MS });
    assert.equal(await quote.locator('.quote-from').textContent(), 'carol');
    assert.equal(await quote.locator('.quote-text').textContent(), 'm number 1');
    assert.equal(await quote.getAttribute('aria-label'), 'In reply to carol: m number 1. Show the original message.');
    assert.equal(await row(view, 'r3').locator('.reply-quote').textContent(), 'original not loaded');

    // Keyboard: Enter on the quote of a message older than the view holds.
    await row(view, 'r2').locator('.reply-quote').focus();
    await view.page.keyboard.press('Enter');
    const asked = await view.waitForPosted('history/around', { key: 'general', id: 'old5' });
    const older = many(0, 10, 'old').map((m) => ({ ...m, sentAt: T0 - (10 - Number(m.id.slice(3))) * MIN }));
    older[5] = { ...older[5]!, from: 'bob', text: 'the old plan' };
    // The window around it reaches the newest (the host's own window): the view stays live.
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, page: { key: 'general', around: 'old5', items: [...older, ...timeline], more: false, newer: false } });
    await revealedInView(view, 'old5');
    assert.equal(await focusedId(view), 'old5', 'the original takes the focus');

    // Mouse: back to the latest, a click on the quote of an original that is loaded, far above.
    await view.page.getByRole('button', { name: 'Jump to the latest message' }).click();
    await quote.click();
    await revealedInView(view, 'm1');
    assert.equal(await focusedId(view), 'm1');
    assert.equal((await view.postedOf('history/around')).length, 1, 'one window was enough');
    assert.equal(await view.page.locator('.row.newer').count(), 0, 'at the newest: nothing newer to load');
    view.assertClean();
  });

  test('reactions: chips with counts and who reacted; click and Enter toggle mine; the picker by keyboard and mouse', async (t) => {
    const view = await harness().open(t);
    const reacted = message('m1', 'bob', 'ship it?', T0, {
      reactions: [
        { emoji: '👍', users: ['bob', 'carol'], mine: false },
        { emoji: '🎉', users: ['alice'], mine: true },
      ],
    });
    await openGeneral(view, [reacted]);
    const chips = row(view, 'm1').locator('.reaction:not(.add-reaction)');
    await chips.first().waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await chips.allTextContents(), ['👍2', '🎉1'], 'emoji and count');
    assert.equal(await chips.nth(0).getAttribute('title'), 'bob and carol reacted with 👍');
    assert.equal(await chips.nth(1).getAttribute('title'), 'you reacted with 🎉');
    assert.equal(await chips.nth(0).getAttribute('aria-pressed'), 'false');
    assert.equal(await chips.nth(1).getAttribute('aria-pressed'), 'true', 'mine is marked');
    assert.notEqual(await chips.nth(0).evaluate((el) => getComputedStyle(el).borderColor), await chips.nth(1).evaluate((el) => getComputedStyle(el).borderColor), 'and highlighted');

    await chips.nth(0).click();
    await view.waitForPosted('message/react', { key: 'general', id: 'm1', emoji: '👍', on: true });
    await chips.nth(1).focus();
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/react', { id: 'm1', emoji: '🎉', on: false });

    // The host answers with the message as it is now: counts change in place.
    await view.send({ type: 'message/updated', key: 'general', message: { ...reacted, reactions: [{ emoji: '👍', users: ['bob', 'carol', 'alice'], mine: true }] } });
    await view.page.waitForFunction(() => document.querySelectorAll('[data-id="m1"] .reaction:not(.add-reaction)').length === 1, null, { timeout: WAIT_MS });
    assert.equal(await chips.nth(0).textContent(), '👍3');
    assert.equal(await chips.nth(0).getAttribute('title'), 'bob, carol and you reacted with 👍');

    // Keyboard: + opens the picker on the first emoji; arrows move; Enter reacts; focus returns.
    await focusRow(view, 'm1');
    await view.page.keyboard.press('+');
    const picker = view.page.getByRole('dialog', { name: 'Add a reaction' });
    await picker.waitFor({ timeout: WAIT_MS });
    await view.page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'React with 👍', null, { timeout: WAIT_MS });
    await view.page.keyboard.press('ArrowRight');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/react', { id: 'm1', emoji: '❤️', on: true });
    await picker.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.id === 'm1', null, { timeout: WAIT_MS });

    // Any emoji: text is refused with words, one emoji is taken. Escape closes, focus returns.
    await view.page.keyboard.press('+');
    await focusOn(view, '.picker-emoji');
    await view.page.keyboard.press('ArrowDown');
    await view.page.keyboard.type('lol');
    await view.page.keyboard.press('Enter');
    await picker.getByRole('alert').waitFor({ timeout: WAIT_MS });
    assert.match(await picker.getByRole('alert').innerText(), /"lol" is not one emoji/);
    assert.equal((await view.postedOf('message/react')).length, 3, 'nothing posted for text');
    await view.page.keyboard.press('Control+A');
    await view.page.keyboard.type('🦀');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/react', { id: 'm1', emoji: '🦀', on: true });
    await focusOn(view, '.row.message[data-id="m1"]');
    await view.page.keyboard.press('+');
    await focusOn(view, '.picker-emoji');
    await view.page.keyboard.press('Escape');
    await picker.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.id === 'm1', null, { timeout: WAIT_MS });

    // Mouse: the toolbar's Add reaction, a click on an emoji (👍 is mine now: it is taken back).
    await row(view, 'm1').hover();
    await row(view, 'm1').getByRole('button', { name: 'Add reaction (+)' }).click();
    await picker.getByRole('button', { name: 'React with 👍' }).click();
    await view.waitForPosted('message/react', { id: 'm1', emoji: '👍', on: false });
    view.assertClean();
  });
});
