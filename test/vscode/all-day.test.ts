// Issue 11, as a person who leaves P2P Chat running all day: a real VS Code (code-server in
// Chromium, the extension as built in dist/), a real `node tracker` and a `node peer --json` bot,
// user bob, in room `lobby`. alice registers and joins once; then the window reloads with the
// Explorer showing. Without the chat view ever opened, the status item says she is online within a
// few seconds and bob's direct message raises a notification. The activity-bar badge carries the
// unread count. Keyboard only: Next Unread opens each conversation with its composer focused,
// Focus Message Box and "Focus on Chat View" land in the composer, and a room bob created a moment
// ago shows in the Directory, is joined from there with Tab and Enter, and takes the next keys
// typed. Screenshots (dark, light, High Contrast) go to test-results/, and the view cropped to
// media/screenshot.png for the README.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/tracker-process.ts';
import { APP_TS, CODE_FOLDER, PASSWORDS, ROOM } from './cast.ts';
import { composerFocused } from './conversation-steps.ts';
import { openDevWindow, reloadWindow } from './dev-window.ts';
import { signUpAndJoin } from './sign-up.ts';
import { screenshotInThemes } from './themes.ts';
import { answerInputBox, botInRoom, failureReport, openView, RESULTS, runCommand, startScene, UI_TIMEOUT_MS, webviewFrame } from './workbench.ts';

const FRESH = 'standup';
/** "Within a few seconds" of the workbench being ready, on 2 busy cores. */
const ONLINE_WITHIN_MS = 15_000;
const FOCUS_COMPOSER = 'Control+Alt+Shift+M';
const NEXT_UNREAD = 'Control+Alt+Shift+U';

/** Whether any webview frame holds the chat page (the view was opened in this window). */
async function viewRendered(page: Page): Promise<boolean> {
  for (const frame of page.frames()) {
    if (frame.url().includes('/webview/') && (await frame.locator('#root *').count().catch(() => 0))) return true;
  }
  return false;
}

/** The P2P Chat activity-bar entry's badge text ('' when none). */
async function badge(page: Page): Promise<string> {
  const item = page.locator('.activitybar .action-item').filter({ has: page.locator('[aria-label^="P2P Chat"]') });
  const content = item.locator('.badge-content');
  const text = (await content.count()) && (await content.first().isVisible()) ? (await content.first().innerText()).trim() : '';
  return text === '0' ? '' : text;
}

async function waitForBadge(page: Page, text: string): Promise<void> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  while ((await badge(page)) !== text) {
    if (Date.now() > deadline) throw new Error(`the activity-bar badge shows "${await badge(page)}", not "${text}"`);
    await page.waitForTimeout(200);
  }
}

/** The Explorer in the side bar (the chat view hidden). */
async function showExplorer(page: Page): Promise<void> {
  await runCommand(page, 'View: Show Explorer');
  await page.locator('.sidebar .composite.title', { hasText: /Explorer/i }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
}

test('all day in VS Code: online from startup with the view hidden, notified, badge, keyboard only, a live Directory', { timeout: 360_000 }, async (context) => {
  const { t, dir, step, trackerAddress } = await startScene(context, 'all-day');
  const { bot: bob, ready: bobReady } = botInRoom(t, trackerAddress, join(dir, 'bob'), 'bob', PASSWORDS.bob, ROOM);
  const { page, blocked, consoleLines } = await openDevWindow(t, dir, { files: CODE_FOLDER });
  try {
    await bobReady;
    // The palette's Join leaves the keyboard in the room's composer, not in the editor (signUpAndJoin waits for it).
    await signUpAndJoin(page, { tracker: trackerAddress, user: 'alice', password: PASSWORDS.alice, room: ROOM, member: bob });
    step('alice registered and joined #lobby from the palette; the composer has the focus');

    // The usual start of a day: the Explorer in the side bar, the chat view hidden. bob writes
    // in the lobby meanwhile: one unread message, which the reload must not forget.
    await showExplorer(page);
    await bob.ok({ cmd: 'msg_room', room: ROOM, text: 'before the reload' });
    await page.locator('.statusbar-item', { hasText: '1 unread' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    // VS Code's own reload: it saves the window's state (the Explorer showing) before it goes.
    await reloadWindow(page);
    const ready = Date.now();
    await page.locator('.sidebar .composite.title', { hasText: /Explorer/i }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const online = page.locator('[aria-label^="P2P Chat, online as alice"]');
    await online.first().waitFor({ state: 'attached', timeout: ONLINE_WITHIN_MS });
    step(`reloaded with the Explorer showing: the status item says alice is online ${((Date.now() - ready) / 1000).toFixed(1)} s after the workbench was ready`);
    assert.equal(await viewRendered(page), false, 'the chat view was not opened');
    await page.locator('.statusbar-item', { hasText: '1 unread' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('the unread count survived the reload');

    // bob writes to alice directly: a notification with Open (who wrote, not the text: the
    // default, as a shown notification cannot be taken back if bob deletes it), and the count.
    await bob.ok({ cmd: 'msg', user: 'alice', text: 'coffee at 10?' });
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'New direct message from bob' });
    await toast.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.doesNotMatch(await toast.first().innerText(), /coffee/, 'no preview of the text by default');
    assert.equal(await toast.first().getByRole('button', { name: 'Open' }).count(), 1, 'the notification offers Open');
    await page.locator('.statusbar-item', { hasText: '2 unread' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal(await viewRendered(page), false, 'still without the chat view');
    await page.screenshot({ path: join(RESULTS, 'all-day-notified.png') });
    step('bob\'s DM: a notification and "2 unread" in the status bar, the view never opened');

    // The view shown once, then the Explorer again: the activity-bar icon carries the count.
    await openView(page);
    await showExplorer(page);
    await waitForBadge(page, '1');
    await bob.ok({ cmd: 'msg_room', room: ROOM, text: 'standup in 5' });
    await waitForBadge(page, '2');
    await page.locator('.statusbar-item', { hasText: '2 unread' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('the activity-bar badge shows 2 unread, as the status bar does');

    // Keyboard only from here. Next Unread: after the open lobby in the sidebar's order comes bob's
    // direct message, then round again to the lobby; each opens with its composer focused.
    await page.keyboard.press(NEXT_UNREAD);
    let frame = await composerFocused(page, 'bob');
    await page.keyboard.type('yes, coffee');
    await page.keyboard.press('Enter');
    const dm = await bob.event('message', (e) => e.text === 'yes, coffee');
    assert.equal(dm.from, 'alice');
    assert.notEqual(dm.room, ROOM);
    await waitForBadge(page, '1');
    await page.keyboard.press(NEXT_UNREAD);
    frame = await composerFocused(page, ROOM);
    await page.keyboard.type('on my way');
    await page.keyboard.press('Enter');
    assert.equal((await bob.event('message', (e) => e.text === 'on my way')).room, ROOM);
    await waitForBadge(page, '');
    step('Next Unread (keybinding) opened bob\'s DM, then #lobby, each ready to type into');

    // Focus Message Box from the Explorer; "Focus on Chat View" from the palette.
    await showExplorer(page);
    await page.keyboard.press(FOCUS_COMPOSER);
    await composerFocused(page, ROOM);
    await page.keyboard.type('typed after Focus Message Box');
    await page.keyboard.press('Enter');
    await bob.event('message', (e) => e.text === 'typed after Focus Message Box');
    await showExplorer(page);
    await runCommand(page, 'Focus on Chat View');
    await composerFocused(page, ROOM);
    await page.keyboard.type('typed after Focus on Chat View');
    await page.keyboard.press('Enter');
    await bob.event('message', (e) => e.text === 'typed after Focus on Chat View');
    step('Focus Message Box and Focus on Chat View land in the composer');

    // bob creates a room now: it shows in the Directory at once; Tab to its Join, Enter, type.
    await bob.ok({ cmd: 'create_room', room: FRESH });
    frame = await webviewFrame(page, `.directory-room[data-room="${FRESH}"]`);
    step(`#${FRESH}, created by bob a moment ago, is in the Directory`);
    const join_ = `Join ${FRESH}`;
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await frame.evaluate((label) => document.activeElement?.getAttribute('aria-label') === label, join_);
    }
    assert.ok(reached, `Tab never reached "${join_}"`);
    await page.keyboard.press('Enter');
    await bob.event('member_joined', (e) => e.room === FRESH && e.user === 'alice');
    await composerFocused(page, FRESH);
    await page.keyboard.type('first!');
    await page.keyboard.press('Enter');
    assert.equal((await bob.event('message', (e) => e.text === 'first!')).room, FRESH);
    step(`joined #${FRESH} from the Directory with Tab and Enter, and typed into it at once`);

    // The timeline is one Tab stop: from it, one Tab reaches the composer, however many links it holds.
    await bob.ok({ cmd: 'msg_room', room: FRESH, text: 'links: [a](https://example.invalid/a) [b](https://example.invalid/b) [c](https://example.invalid/c) `x.ts:12`' });
    frame = await webviewFrame(page, '.timeline');
    await frame.locator('.row.message', { hasText: 'links:' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await frame.locator('.timeline').focus();
    await page.keyboard.press('Tab');
    assert.equal(await frame.evaluate(() => document.activeElement?.classList.contains('composer-input')), true, 'one Tab from the timeline is the composer');

    // Share Selection from the editor, keyboard only: lines 3-5 selected with Shift+Down (the
    // cursor ends at column 1 of line 6), shared as 3-5, and the focus back in the composer.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible' });
    await page.keyboard.type('app.ts');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'app.ts' }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await page.locator('.editor-instance .monaco-editor.focused').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.keyboard.press('Control+G');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowDown');
    await runCommand(page, 'P2P Chat: Share Selection');
    await answerInputBox(page, /Add a message/, 'the new handler');
    const shared = await bob.event('message', (e) => e.text === 'the new handler');
    const snippet = shared.snippet as { path: string; startLine: number; endLine: number; code: string };
    assert.deepEqual([snippet.path, snippet.startLine, snippet.endLine], ['src/app.ts', 3, 5]);
    assert.equal(snippet.code, APP_TS.split('\n').slice(2, 5).join('\n'));
    frame = await composerFocused(page, FRESH);
    assert.equal(await frame.locator('.row.message.mine .snippet-title').last().innerText(), 'app.ts:3–5');
    step('Share Selection of lines 3-5 (Shift+Down x3) sent app.ts:3–5; the composer has the focus again');

    await runCommand(page, 'Notifications: Clear All Notifications');
    await page.mouse.move(0, 0);
    await page.locator('.part.sidebar').screenshot({ path: join(REPO_ROOT, 'media', 'screenshot.png') });
    await screenshotInThemes(page, 'all-day', ['dark', 'light', 'high-contrast'], { sidebar: true });
    step('screenshots in dark, light and High Contrast in test-results/; the view cropped to media/screenshot.png');
    assert.deepEqual(blocked, [], 'the workbench tried to leave the machine');
  } catch (err) {
    throw await failureReport(page, consoleLines, 'all-day', err);
  }
});
