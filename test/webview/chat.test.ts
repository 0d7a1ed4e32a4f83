// The open conversation: sending, receiving, grouping, notices, delivery, typing, snippets,
// members and room actions, drafts across hide/show.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS, type View } from './harness.ts';
import { GENERAL_MEMBERS, loggedIn, member, message, notice, withGeneral } from './fixtures.ts';

const MIN = 60_000;

async function openGeneral(view: View, timeline: Parameters<typeof withGeneral>[0] = []): Promise<void> {
  await view.send({ type: 'host/snapshot', snapshot: withGeneral(timeline) });
  await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
}

describe('webview: the open conversation', () => {
  const harness = useHarness();

  test('typing and Enter sends message/send; Shift+Enter inserts a newline', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    const composer = view.page.getByRole('textbox', { name: /^Message general/ });
    await composer.click();
    await composer.pressSequentially('first line');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('second line');
    assert.equal(await composer.inputValue(), 'first line\nsecond line');
    assert.equal((await view.postedOf('message/send')).length, 0, 'Shift+Enter does not send');
    await composer.press('Enter');
    assert.deepEqual(await view.waitForPosted('message/send'), { type: 'message/send', requestId: 1, key: 'general', text: 'first line\nsecond line' });
    assert.equal(await composer.inputValue(), '', 'the composer empties after sending');
    await composer.press('Enter');
    await composer.pressSequentially('   ');
    await composer.press('Enter');
    assert.equal((await view.postedOf('message/send')).length, 1, 'empty and blank messages are not sent');
    view.assertClean();
  });

  test('typing posts typing/set true, and false on send', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    const composer = view.page.locator('.composer-input');
    await composer.pressSequentially('hel');
    await view.waitForPosted('typing/set', { key: 'general', active: true });
    assert.equal((await view.postedOf('typing/set')).length, 1, 'one "typing" for a burst of keys, not one per key');
    await composer.press('Enter');
    await view.waitForPosted('message/send', { text: 'hel' });
    await view.waitForPosted('typing/set', { key: 'general', active: false });
    const typing = await view.postedOf('typing/set');
    assert.deepEqual(typing.map((m) => m.active), [true, false]);
  });

  test('typing stops by itself after 3 s without a keystroke', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    await view.page.locator('.composer-input').pressSequentially('x');
    await view.waitForPosted('typing/set', { active: true });
    const started = Date.now();
    await view.waitForPosted('typing/set', { active: false });
    const idle = Date.now() - started;
    assert.ok(idle >= 2500 && idle < 6000, `typing ended after ${idle} ms, expected about 3000`);
  });

  test('received messages appear, grouped by sender within 5 minutes, with day separators', async (t) => {
    const view = await harness().open(t);
    // Every "today" message is at least 20 minutes after midnight (run just after midnight, "20
    // minutes ago" is yesterday): at the earliest 00:30 today, a little ahead of the clock then.
    const now = Math.max(Date.now(), new Date().setHours(0, 30, 0, 0));
    const yesterday = now - 24 * 60 * MIN;
    await openGeneral(view, [message('y1', 'bob', 'from yesterday', yesterday)]);
    await view.page.locator('[data-id="y1"]').waitFor({ timeout: WAIT_MS });
    const add = (id: string, from: string, text: string, at: number) => view.send({ type: 'timeline/added', key: 'general', item: message(id, from, text, at) });
    await add('m1', 'bob', 'one', now - 20 * MIN);
    await add('m2', 'bob', 'two', now - 18 * MIN);
    await add('m3', 'bob', 'three, much later', now - 5 * MIN);
    await add('m4', 'carol', 'four', now - 4 * MIN);
    await add('m5', 'bob', 'five', now - 3 * MIN);
    await add('m6', 'bob', 'six, soon after five', now);
    await view.send({ type: 'timeline/added', key: 'random', item: message('elsewhere', 'bob', 'not here', now) });
    await view.page.locator('[data-id="m5"]').waitFor({ timeout: WAIT_MS });
    const rows = await view.page.locator('.timeline .row').evaluateAll((els) =>
      els.map((el) => (el.classList.contains('day') ? `day:${el.textContent}` : `${el.getAttribute('data-id')}${el.classList.contains('head') ? ':head' : ''}`)),
    );
    assert.deepEqual(rows, ['day:Yesterday', 'y1:head', 'day:Today', 'm1:head', 'm2', 'm3:head', 'm4:head', 'm5:head', 'm6']);
    assert.equal(await view.page.locator('[data-id="elsewhere"]').count(), 0, 'messages of other conversations are not shown');
    assert.equal(await view.page.locator('[data-id="m1"] .sender').innerText(), 'bob');
    assert.equal(await view.page.locator('[data-id="m2"] .sender').count(), 0, 'a grouped message has no header');
    assert.match(await view.page.locator('[data-id="m2"] .sr-only').innerText(), /^bob, /, 'but screen readers still hear who wrote it');
    const log = view.page.getByRole('log');
    assert.equal(await log.getAttribute('aria-live'), 'polite');
    view.assertClean();
  });

  test('notices: joins as info, key changes as warnings in the warning color', async (t) => {
    const view = await harness().open(t);
    const now = Date.now();
    await openGeneral(view, [notice('n1', 'carol joined', now - MIN)]);
    await view.send({
      type: 'timeline/added',
      key: 'general',
      item: notice('n2', "bob's identity key changed (AB:CD… → EF:01…). Nothing is sent to bob until you compare fingerprints.", now, 'warning'),
    });
    const warning = view.page.locator('[data-id="n2"]');
    await warning.waitFor({ timeout: WAIT_MS });
    assert.ok(await warning.evaluate((el) => el.classList.contains('notice-warning')));
    assert.equal(await warning.locator('.codicon-warning').count(), 1);
    assert.match(await warning.innerText(), /identity key changed/);
    assert.equal(await warning.evaluate((el) => getComputedStyle(el).color), 'rgb(204, 167, 0)');
    const info = view.page.locator('[data-id="n1"]');
    assert.equal(await info.locator('.codicon-info').count(), 1);
    assert.notEqual(await info.evaluate((el) => getComputedStyle(el).color), 'rgb(204, 167, 0)');
  });

  test('own messages show delivery: sending, check, then check-all with "delivered to N of M"', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('mine', 'alice', 'did you get this?', Date.now(), { delivered: { count: 0, of: 2 } }), message('theirs', 'bob', 'yes', Date.now())]);
    const icon = view.page.locator('[data-id="mine"] .delivery');
    await icon.waitFor({ timeout: WAIT_MS });
    assert.equal(await icon.getAttribute('aria-label'), 'Sending: delivered to 0 of 2 so far');
    assert.ok(await icon.evaluate((el) => el.classList.contains('codicon-circle-large-outline')));
    assert.equal(await view.page.locator('[data-id="theirs"] .delivery').count(), 0, 'only my own messages');
    await view.send({ type: 'message/delivered', key: 'general', id: 'mine', count: 1, of: 2 });
    await view.page.waitForSelector('[data-id="mine"] .delivery.codicon-check[aria-label="Delivered to 1 of 2"]', { timeout: WAIT_MS });
    await view.send({ type: 'message/delivered', key: 'general', id: 'mine', count: 2, of: 2 });
    await view.page.waitForSelector('[data-id="mine"] .delivery.codicon-check-all[title="Delivered to 2 of 2"]', { timeout: WAIT_MS });
  });

  test('typing indicator names who is typing', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    const status = view.page.locator('.typing-indicator');
    assert.equal(await status.getAttribute('role'), 'status');
    await view.send({ type: 'typing/changed', key: 'general', users: ['bob'] });
    await view.page.waitForFunction(() => document.querySelector('.typing-indicator')?.textContent === 'bob is typing…', null, { timeout: WAIT_MS });
    await view.send({ type: 'typing/changed', key: 'general', users: ['bob', 'carol'] });
    await view.page.waitForFunction(() => document.querySelector('.typing-indicator')?.textContent === 'bob and carol are typing…', null, { timeout: WAIT_MS });
    await view.send({ type: 'typing/changed', key: 'random', users: ['dave'] });
    await view.send({ type: 'typing/changed', key: 'general', users: [] });
    await view.page.waitForFunction(() => document.querySelector('.typing-indicator')?.textContent === '', null, { timeout: WAIT_MS });
  });

  test('@mentions are highlighted, mine more', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view, [message('m', 'bob', 'hey @alice and @carol, mail me at bob@example.com', Date.now(), { mentionsMe: true })]);
    const row = view.page.locator('[data-id="m"]');
    await row.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await row.locator('.mention').allInnerTexts(), ['@alice', '@carol']);
    assert.deepEqual(await row.locator('.mention-me').allInnerTexts(), ['@alice']);
    assert.ok(await row.evaluate((el) => el.classList.contains('mentions-me')));
  });

  test('a code snippet shows its language, its code, and a file:lines link that asks to open that range', async (t) => {
    const view = await harness().open(t);
    const snippet = { language: 'typescript', path: 'src/app.ts', startLine: 42, endLine: 44, code: 'const a = 1;\nconst b = <b>2</b>;' };
    await openGeneral(view, [message('s', 'bob', 'look at this', Date.now(), { snippet })]);
    const row = view.page.locator('[data-id="s"]');
    await row.waitFor({ timeout: WAIT_MS });
    assert.equal(await row.locator('.snippet-lang').textContent(), 'typescript');
    assert.equal(await row.locator('.snippet-code code').innerText(), snippet.code);
    assert.equal(await row.locator('.snippet-code b').count(), 0);
    const link = row.getByRole('link', { name: 'Open src/app.ts at lines 42–44' });
    // The file's name and the lines first, then the whole path.
    assert.equal(await link.locator('.snippet-title').innerText(), 'app.ts:42–44');
    assert.equal(await link.locator('.snippet-path').innerText(), 'src/app.ts');
    await link.click();
    // With the message that carries it: the host opens that message's code thread when it has one.
    assert.deepEqual(await view.waitForPosted('snippet/open'), { type: 'snippet/open', path: 'src/app.ts', line: 42, endLine: 44, message: { key: 'general', id: 's' } });
  });

  test('members: owner and verified badges; verify, kick (owner only) and DM', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    await view.page.getByRole('button', { name: 'Show members' }).click();
    const list = view.page.getByRole('region', { name: 'Members of general' });
    await list.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await list.locator('.member').evaluateAll((els) => els.map((e) => e.getAttribute('data-user'))), ['alice', 'bob', 'carol']);
    assert.equal(await list.locator('[data-user="alice"] .codicon-star-full').getAttribute('aria-label'), 'Owner');
    assert.equal(await list.locator('[data-user="bob"] .codicon-verified-filled').getAttribute('aria-label'), 'Verified');
    assert.equal(await list.locator('[data-user="carol"] .codicon-verified-filled').count(), 0);
    await list.getByRole('button', { name: 'Verify carol' }).click();
    await view.waitForPosted('member/verify', { user: 'carol' });
    await list.getByRole('button', { name: 'Remove bob from general' }).click();
    await view.page.getByRole('button', { name: 'Remove', exact: true }).click();
    await view.waitForPosted('room/kick', { key: 'general', user: 'bob' });
    await list.getByRole('button', { name: 'Message carol directly' }).click();
    await view.waitForPosted('conversation/openDirect', { user: 'carol' });
    // Not the owner: no remove buttons.
    await view.send({ type: 'members/changed', key: 'general', members: [member('alice', { verified: true }), member('bob', { owner: true })] });
    await list.locator('[data-user="bob"] .codicon-star-full').waitFor({ timeout: WAIT_MS });
    assert.equal(await list.getByRole('button', { name: /^Remove/ }).count(), 0);
  });

  test('leave asks first, then posts room/leave; close is for the owner', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    await view.page.getByRole('button', { name: 'Leave general' }).click();
    const confirm = view.page.getByRole('button', { name: 'Leave', exact: true });
    await confirm.waitFor({ timeout: WAIT_MS });
    assert.equal((await view.postedOf('room/leave')).length, 0);
    await view.page.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached', timeout: WAIT_MS });
    await view.page.getByRole('button', { name: 'Leave general' }).click();
    await view.page.getByRole('button', { name: 'Leave', exact: true }).click();
    await view.waitForPosted('room/leave', { key: 'general' });
    await view.page.getByRole('button', { name: 'Close general for everyone' }).click();
    await view.page.getByRole('button', { name: 'Close room', exact: true }).click();
    await view.waitForPosted('room/close', { key: 'general' });
  });

  test('a leave or close refused because messages would be lost says so and asks; Leave (Close) anyway posts it with force, Escape keeps the room', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    const refuse = async () => {
      await view.clearPosted();
      await view.page.getByRole('button', { name: 'Leave general' }).click();
      await view.page.getByRole('button', { name: 'Leave', exact: true }).click();
      const asked = await view.waitForPosted('room/leave', { key: 'general' });
      assert.equal(asked.force, undefined);
      const message = 'you are still in general: 2 of your messages there have not reached any member yet (they are offline) and would be lost if you left now; wait until a member has them, or leave anyway and lose them';
      await view.send({ type: 'request/completed', requestId: asked.requestId, ok: false, error: { code: 'room.undelivered', message } });
      const anyway = view.page.getByRole('button', { name: 'Leave anyway' });
      await anyway.waitFor({ timeout: WAIT_MS });
      assert.match(await view.page.locator('.confirm-bar .confirm-text').innerText(), /2 of your messages there have not reached any member yet/);
      // Asked where the keyboard is: the confirm button takes the focus.
      await view.page.waitForFunction(() => document.activeElement?.textContent === 'Leave anyway', undefined, { timeout: WAIT_MS });
      return anyway;
    };
    let anyway = await refuse();
    await view.page.keyboard.press('Escape');
    await anyway.waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal((await view.postedOf('room/leave')).length, 1, 'staying posts nothing');
    anyway = await refuse();
    await anyway.click();
    const forced = await view.waitForPosted('room/leave', { key: 'general', force: true });
    assert.equal(forced.force, true);
    await anyway.waitFor({ state: 'detached', timeout: WAIT_MS });

    // Closing the same way: refused as undelivered, asked, closed anyway.
    await view.clearPosted();
    await view.page.getByRole('button', { name: 'Close general for everyone' }).click();
    await view.page.getByRole('button', { name: 'Close room', exact: true }).click();
    const close = await view.waitForPosted('room/close', { key: 'general' });
    assert.equal(close.force, undefined);
    await view.send({ type: 'request/completed', requestId: close.requestId, ok: false, error: { code: 'room.undelivered', message: 'general is still open: 1 of your messages there has not reached carol yet' } });
    const closeAnyway = view.page.getByRole('button', { name: 'Close anyway' });
    await closeAnyway.waitFor({ timeout: WAIT_MS });
    // The bar takes the focus as it appears (an effect after it is drawn): Enter once it has it.
    await view.page.waitForFunction(() => document.activeElement?.textContent === 'Close anyway', undefined, { timeout: WAIT_MS });
    await view.page.keyboard.press('Enter');
    await view.waitForPosted('room/close', { key: 'general', force: true });
  });

  test('drafts and the open conversation survive hide/show', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    await view.page.locator('.composer-input').pressSequentially('half-written thought');
    await view.reload();
    // The host forgot which conversation was open: the view asks for it again.
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    await view.waitForPosted('conversation/open', { key: 'general' });
    await view.send({ type: 'conversation/opened', key: 'general', title: 'general', direct: false, timeline: [], members: GENERAL_MEMBERS, typing: [] });
    await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.locator('.composer-input').inputValue(), 'half-written thought');
  });

  test('a message over the 64 KiB limit is refused in words, not sent', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    const composer = view.page.locator('.composer-input');
    await composer.fill('é'.repeat(40 * 1024));
    await composer.press('Enter');
    await view.page.getByRole('alert').filter({ hasText: 'the limit is 64 KiB' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await view.postedOf('message/send')).length, 0);
    assert.equal((await composer.inputValue()).length, 40 * 1024, 'the draft is kept');
  });

  test('a send the host refuses puts the text back in the box, before what was typed since, and says so', async (t) => {
    const view = await harness().open(t);
    await openGeneral(view);
    const composer = view.page.locator('.composer-input');
    await composer.pressSequentially('the deploy is at 5');
    await composer.press('Enter');
    const sent = await view.waitForPosted('message/send', { text: 'the deploy is at 5' });
    assert.equal(await composer.inputValue(), '');
    await composer.pressSequentially('and bring snacks');
    await view.send({ type: 'request/completed', requestId: sent.requestId, ok: false, error: { message: 'You are not logged in. Run "P2P Chat: Login" first.' } });
    await view.page.getByRole('alert').filter({ hasText: 'Your message was not sent: it is back in the message box.' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await composer.inputValue(), 'the deploy is at 5\nand bring snacks', 'nothing typed is lost');
    // A send that succeeds leaves the box alone.
    await composer.fill('ok');
    await composer.press('Enter');
    const second = await view.waitForPosted('message/send', { text: 'ok' });
    await view.send({ type: 'request/completed', requestId: second.requestId, ok: true });
    await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
    assert.equal(await composer.inputValue(), '');
  });
});
