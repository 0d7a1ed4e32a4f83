// Edits and deletes of my messages in the real view (Chromium), by keyboard and by mouse;
// `message/updated` applied in place without moving what is on screen; and text from peers
// (names, emoji, excerpts) that stays text everywhere these features show it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';
import { MIN, T0, focusOn, focusRow, many, openGeneral, row, settled } from './message-steps.ts';

describe('webview: edits, deletes, updates in place, hostile text', () => {
  const harness = useHarness();

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

  test('the toolbar is drawn over my delivery tick: on a one-line message the Delete button is what a click at its centre hits', async (t) => {
    const view = await harness().open(t);
    // m2 follows m1 from the same sender: a row of one line, without the sender's name above it.
    await openGeneral(view, [message('m1', 'alice', 'hi', T0), message('m2', 'alice', 'one line', T0 + MIN, { delivered: { count: 2, of: 2 } })]);
    await row(view, 'm2').locator('.delivery').waitFor({ timeout: WAIT_MS });
    await row(view, 'm2').hover();
    const del = row(view, 'm2').getByRole('button', { name: 'Delete (Delete)' });
    await del.waitFor({ state: 'visible', timeout: WAIT_MS });
    const hit = await del.evaluate((button) => {
      const r = button.getBoundingClientRect();
      const tick = button.closest('.row')!.querySelector('.delivery')!.getBoundingClientRect();
      const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      const overlap = r.left < tick.right && tick.left < r.right && r.top < tick.bottom && tick.top < r.bottom;
      return { overlap, topmost: top === button || button.contains(top), top: top ? `${top.tagName}.${top.className}` : 'nothing' };
    });
    // The tick sits at the row's lower right, under the toolbar: the case this guards.
    assert.ok(hit.overlap, 'the tick and the Delete button overlap on a one-line message');
    assert.ok(hit.topmost, `the Delete button is topmost at its centre, not ${hit.top}`);
    await del.click();
    await row(view, 'm2').getByRole('group', { name: /^Delete this message for everyone/ }).waitFor({ timeout: WAIT_MS });
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
