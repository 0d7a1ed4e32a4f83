// Replies, reactions, edits and deletes in the real view (Chromium), by keyboard and by mouse:
// what the view posts (protocol/view.ts requests), what it shows when the host answers with
// `message/updated`, and that a quote leads to the original, older pages loaded through it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

const MIN = 60_000;
const T0 = Date.now() - 90 * MIN;

async function openGeneral(view: View, timeline: TimelineItem[], more = false): Promise<void> {
  const snapshot = withGeneral(timeline);
  snapshot.open!.more = more;
  await view.send({ type: 'host/snapshot', snapshot });
  await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
}

const row = (view: View, id: string) => view.page.locator(`.row.message[data-id="${id}"]`);

/** Keyboard focus on message `id` (as the arrow keys leave it). */
async function focusRow(view: View, id: string): Promise<void> {
  await row(view, id).focus();
  await view.page.waitForFunction((id) => (document.activeElement as HTMLElement | null)?.dataset.id === id, id, { timeout: WAIT_MS });
}

/** Waits until the focused element matches `selector`. */
async function focusOn(view: View, selector: string): Promise<void> {
  await view.page.waitForFunction((sel) => document.activeElement?.matches(sel) ?? false, selector, { timeout: WAIT_MS });
}

const focusedId = (view: View) => view.page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.row.message')?.dataset.id);

/** Whether message `id` is marked as revealed and inside the timeline's visible box. */
async function revealedInView(view: View, id: string): Promise<void> {
  await view.page.locator(`.row.message.revealed[data-id="${id}"]`).waitFor({ timeout: WAIT_MS });
  const inside = await view.page.evaluate((id) => {
    const box = document.querySelector('.timeline')!.getBoundingClientRect();
    const r = document.querySelector(`.row.message[data-id="${id}"]`)!.getBoundingClientRect();
    return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  }, id);
  assert.ok(inside, `${id} is scrolled into the timeline's view`);
}

/** Waits until the timeline's scroll position and height are the same for 3 frames in a row (rows measured, corrections done). */
async function settled(view: View): Promise<void> {
  await view.page.waitForFunction(
    () =>
      new Promise<boolean>((resolve) => {
        const el = document.querySelector('.timeline')!;
        const seen: string[] = [];
        const step = () => {
          seen.push(`${el.scrollTop}:${el.scrollHeight}`);
          if (seen.length < 4) requestAnimationFrame(step);
          else resolve(seen.every((s) => s === seen[0]));
        };
        requestAnimationFrame(step);
      }),
    null,
    { timeout: WAIT_MS },
  );
}

function many(from: number, to: number, prefix = 'm'): TimelineMessage[] {
  const out: TimelineMessage[] = [];
  for (let i = from; i < to; i++) out.push(message(`${prefix}${i}`, i % 2 ? 'bob' : 'carol', `${prefix} number ${i}`, T0 + i * 20_000));
  return out;
}

describe('webview: replies, reactions, edits and deletes', () => {
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
    const asked = await view.waitForPosted('history/page', { key: 'general', before: 'm1', through: 'old5' });
    const older = many(0, 10, 'old').map((m) => ({ ...m, sentAt: T0 - (10 - Number(m.id.slice(3))) * MIN }));
    older[5] = { ...older[5]!, from: 'bob', text: 'the old plan' };
    await view.send({ type: 'request/completed', requestId: asked.requestId, ok: true, page: { key: 'general', before: 'm1', items: older, more: false } });
    await revealedInView(view, 'old5');
    assert.equal(await focusedId(view), 'old5', 'the original takes the focus');

    // Mouse: back to the latest, a click on the quote of an original that is loaded, far above.
    await view.page.getByRole('button', { name: 'Jump to the latest message' }).click();
    await quote.click();
    await revealedInView(view, 'm1');
    assert.equal(await focusedId(view), 'm1');
    assert.equal((await view.postedOf('history/page')).filter((p) => p.through).length, 1, 'one page was enough');
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

  test('edit: E opens the editor, Escape cancels, Enter saves (Shift+Enter a new line); "(edited)" after the update', async (t) => {
    const view = await harness().open(t);
    const mine = message('m2', 'alice', 'teh plan', T0 + MIN);
    await openGeneral(view, [message('m1', 'bob', 'what is the plan?', T0), mine]);
    await focusRow(view, 'm2');
    await view.page.keyboard.press('e');
    const editor = row(view, 'm2').getByRole('textbox', { name: /^Edit message/ });
    await editor.waitFor({ timeout: WAIT_MS });
    assert.equal(await editor.inputValue(), 'teh plan');
    await focusOn(view, '.edit-input');
    await view.page.keyboard.press('Escape');
    await editor.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal(await row(view, 'm2').locator('.message-body').innerText(), 'teh plan');
    assert.equal((await view.postedOf('message/edit')).length, 0, 'Escape cancels');
    await view.page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.id === 'm2', null, { timeout: WAIT_MS });

    await view.page.keyboard.press('E');
    await focusOn(view, '.edit-input');
    await view.page.keyboard.press('Control+A');
    await view.page.keyboard.type('the plan:');
    await view.page.keyboard.press('Shift+Enter');
    await view.page.keyboard.type('ship *friday*');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/edit', { key: 'general', id: 'm2', text: 'the plan:\nship *friday*' });
    await editor.waitFor({ state: 'detached', timeout: WAIT_MS });

    await view.send({ type: 'message/updated', key: 'general', message: { ...mine, text: 'the plan:\nship *friday*', edited: true } });
    await row(view, 'm2').locator('.edited-mark').waitFor({ timeout: WAIT_MS });
    assert.equal(await row(view, 'm2').locator('.edited-mark').innerText(), '(edited)');
    assert.equal(await row(view, 'm2').locator('.message-body em').innerText(), 'friday', 'edited text is Markdown like any message');

    // Mouse: the toolbar's Edit, an empty text is refused with words, Cancel.
    await row(view, 'm2').hover();
    await row(view, 'm2').getByRole('button', { name: 'Edit (E)' }).click();
    await focusOn(view, '.edit-input');
    await editor.fill('   ');
    await row(view, 'm2').getByRole('button', { name: 'Save' }).click();
    assert.match(await row(view, 'm2').getByRole('alert').innerText(), /cannot be empty/);
    await row(view, 'm2').getByRole('button', { name: 'Cancel' }).click();
    await editor.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal((await view.postedOf('message/edit')).length, 1);
    view.assertClean();
  });

  test('delete: a confirmation first (Escape backs out), then message/delete; "message deleted" with no actions', async (t) => {
    const view = await harness().open(t);
    const mine = message('m2', 'alice', 'wrong room, sorry', T0 + MIN, { reactions: [{ emoji: '👀', users: ['bob'], mine: false }] });
    const reply = message('m3', 'bob', 'what was that?', T0 + 2 * MIN, { replyTo: { id: 'm2', from: 'alice', excerpt: 'wrong room, sorry' } });
    await openGeneral(view, [message('m1', 'bob', 'hi', T0), mine, reply]);
    await focusRow(view, 'm2');
    await view.page.keyboard.press('Delete');
    const confirm = row(view, 'm2').getByRole('group', { name: /^Delete this message for everyone/ });
    await confirm.waitFor({ timeout: WAIT_MS });
    await focusOn(view, '.row .confirm-bar button.primary');
    await view.page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal((await view.postedOf('message/delete')).length, 0);
    await view.page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.id === 'm2', null, { timeout: WAIT_MS });

    await view.page.keyboard.press('Delete');
    await focusOn(view, '.row .confirm-bar button.primary');
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('message/delete', { key: 'general', id: 'm2' });

    await view.send({ type: 'message/updated', key: 'general', message: { ...mine, text: '', deleted: true, reactions: [] } });
    const body = row(view, 'm2').locator('.message-body');
    await row(view, 'm2').locator('.deleted-text').waitFor({ timeout: WAIT_MS });
    assert.equal(await body.innerText(), 'message deleted');
    assert.equal(await body.evaluate((el) => getComputedStyle(el).fontStyle), 'italic');
    await row(view, 'm2').hover();
    assert.equal(await row(view, 'm2').locator('.message-actions, .reaction, .delivery, .delivery-state').count(), 0, 'no actions, reactions or delivery state');
    await focusRow(view, 'm2');
    for (const key of ['r', '+', 'e', 'Delete']) await view.page.keyboard.press(key);
    assert.equal(await view.page.locator('.reply-bar, .react-picker, .edit-box, .row .confirm-bar').count(), 0, 'keys do nothing on a deleted message');
    assert.equal(await row(view, 'm3').locator('.reply-quote').textContent(), 'alicemessage deleted', 'the reply quoting it says so');
    view.assertClean();
  });

  test('names, emoji and excerpts from peers stay text: quotes, the reply bar, reactions, "Seen by"', async (t) => {
    const view = await harness().open(t);
    const evil = '<img src=x onerror="window.__pwned=1">';
    const quoted = message('q1', evil, `${evil} \u202etxt.exe <b>bold</b>`, T0);
    const reply = message('q2', 'bob', 're', T0 + MIN, {
      replyTo: { id: 'q1', from: evil, excerpt: `${evil} \u202etxt.exe` },
      reactions: [{ emoji: '<b>👍</b>', users: ['<i>eve</i>', '\u202eevil'], mine: false }],
    });
    const snapshot = withGeneral([quoted, reply, message('q3', 'alice', 'mine', T0 + 2 * MIN)]);
    snapshot.open!.reads = [{ user: '<script>x</script>', upTo: 'q3' }];
    await view.send({ type: 'host/snapshot', snapshot });
    await row(view, 'q2').locator('.reply-quote').waitFor({ timeout: WAIT_MS });
    assert.equal(await row(view, 'q2').locator('.quote-from').textContent(), evil);
    assert.equal(await row(view, 'q2').locator('.quote-text').textContent(), `${evil} <U+202E>txt.exe`);
    const chip = row(view, 'q2').locator('.reaction:not(.add-reaction)');
    assert.equal(await chip.locator('.reaction-emoji').textContent(), '<b>👍</b>');
    assert.equal(await chip.getAttribute('title'), '<i>eve</i> and <U+202E>evil reacted with <b>👍</b>');
    // Not one emoji: the chip does not post it, and says why.
    await chip.click();
    await view.page.locator('.error-bar').getByText(/is not one emoji/).waitFor({ timeout: WAIT_MS });
    assert.equal((await view.postedOf('message/react')).length, 0);
    assert.equal(await row(view, 'q3').locator('.seen-by').innerText(), 'Seen by <script>x</script>');
    await focusRow(view, 'q1');
    await view.page.keyboard.press('r');
    await view.page.locator('.reply-bar').waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.locator('.reply-bar .quote-from').textContent(), evil);
    assert.equal(await view.page.locator('.reply-bar .quote-text').textContent(), `${evil} <U+202E>txt.exe <b>bold</b>`);
    assert.equal(await view.page.locator('.chat img, .chat script, .chat b, .chat i').count(), 0, 'no markup from peers');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    view.assertClean();
  });

  test('message/updated replaces a message in place: what is on screen stays where it was', async (t) => {
    const view = await harness().open(t);
    const timeline = many(1, 80);
    await openGeneral(view, timeline);
    await row(view, 'm79').waitFor({ timeout: WAIT_MS });
    // Scrolled up into the middle; the messages just above the view are rendered (overscan).
    await view.page.locator('.timeline').evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2 }));
    await settled(view);
    const firstInView = await view.page.evaluate(() => {
      const box = document.querySelector('.timeline')!.getBoundingClientRect();
      const rows = Array.from(document.querySelectorAll<HTMLElement>('.row.message'));
      return rows.find((r) => r.getBoundingClientRect().top >= box.top)!.dataset.id!;
    });
    const n = Number(firstInView.slice(1));
    const topOf = () => view.page.evaluate((id) => document.querySelector(`[data-id="${id}"]`)!.getBoundingClientRect().top, firstInView);
    const before = await topOf();
    const above = timeline[n - 3]!;
    await view.send({
      type: 'message/updated',
      key: 'general',
      message: { ...above, text: 'edited into\na much\nlonger text', edited: true, reactions: [{ emoji: '👍', users: ['bob'], mine: false }] },
    });
    await row(view, above.id).locator('.edited-mark').waitFor({ state: 'attached', timeout: WAIT_MS });
    await settled(view);
    const after = await topOf();
    assert.ok(Math.abs(after - before) <= 2, `${firstInView} moved from ${before} to ${after} px when ${above.id} above it grew`);
    assert.equal(await row(view, above.id).locator('.message-body').innerText(), 'edited into\na much\nlonger text');
    // An update of a message this view does not hold changes nothing.
    await view.send({ type: 'message/updated', key: 'general', message: message('elsewhere', 'bob', 'x', T0) });
    await view.send({ type: 'message/updated', key: 'random', message: { ...above, text: 'other room' } });
    assert.equal(await row(view, above.id).locator('.message-body').innerText(), 'edited into\na much\nlonger text');
    assert.equal(await view.page.locator('[data-id="elsewhere"]').count(), 0);
    view.assertClean();
  });
});
