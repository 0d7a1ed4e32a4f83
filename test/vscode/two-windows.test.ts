// One person, two VS Code windows on one machine (two workbench pages of one code-server, one
// user-data folder): one engine, shared. A real `node tracker`, a `node peer --json` bot (bob) in
// room `lobby`, the extension as built. alice registers and joins in window A (which runs the
// engine); window B attaches to it. bob's room message and DM each appear once in both windows; a
// message sent from each window reaches bob once. Window A is closed mid-conversation: B takes
// over (resuming the saved session, no password), and bob's message sent meanwhile arrives once.
// A third window then attaches to B and shows the whole history once; B (running the engine) is
// reloaded and the engine moves; with the view hidden, one DM raises one notification in one window;
// the extension's JSON state files parse. Screenshots: test-results/two-windows-*.png.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { whoHolds } from '../../peer/folder-lock.ts';
import { filesUnder } from '../helpers/files-under.ts';
import { NOTES_FOLDER, PASSWORDS, ROOM } from './cast.ts';
import { openConversation } from './conversation-steps.ts';
import { openAnotherWindow, openDevWindow, reloadWindow } from './dev-window.ts';
import { signUpAndJoin } from './sign-up.ts';
import { botInRoom, failureReport, openView, RESULTS, runCommand, startScene, UI_TIMEOUT_MS, webviewFrame, type Bot } from './workbench.ts';

/** The timeline rows of messages whose text contains `text`, in the window's chat view. */
async function rows(page: Page, text: string): Promise<number> {
  const frame = await webviewFrame(page, '.composer textarea');
  return frame.locator('[data-id][data-from]', { hasText: text }).count();
}

/** Waits until `text` shows in the open conversation of `page`, then checks it shows exactly once. */
async function seenOnce(page: Page, text: string, window: string): Promise<void> {
  const frame = await webviewFrame(page, '.composer textarea');
  await frame.locator('[data-id][data-from]', { hasText: text }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  assert.equal(await rows(page, text), 1, `"${text}" shows once in window ${window}`);
}

/** Types `text` into the composer of `page`'s open conversation and sends it. */
async function sendFrom(page: Page, text: string): Promise<void> {
  const frame = await webviewFrame(page, '.composer textarea');
  await frame.locator('.composer textarea').click();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

/** bob's `message` events with exactly this text from alice. */
function received(bob: Bot, text: string): number {
  return bob.seen('message', (e) => e.from === 'alice' && e.text === text).length;
}

test('two windows of one user share one engine; the other window takes over when the first closes', { timeout: 420_000 }, async (context) => {
  const { t, dir, step, trackerAddress } = await startScene(context, 'two-windows');
  const { bot: bob, ready: bobReady } = botInRoom(t, trackerAddress, join(dir, 'bob'), 'bob', PASSWORDS.bob, ROOM);
  // Previews on: this test reads the text in the notification (all-day checks the default, off).
  const windowA = await openDevWindow(t, dir, { files: NOTES_FOLDER, label: 'A', settings: { 'p2pChat.notificationPreview': true } });
  const { server, page: a, consoleLines } = windowA;
  let b: Page | undefined;
  try {
    await bobReady;
    await signUpAndJoin(a, { tracker: trackerAddress, user: 'alice', password: PASSWORDS.alice, room: ROOM, member: bob });
    step('window A: alice registered and joined #lobby');

    // Window B: the same browser profile (SecretStorage) and the same user-data folder.
    b = await openAnotherWindow(windowA, 'B');
    await b.locator('[aria-label^="P2P Chat, online as alice"]').first().waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    await openView(b);
    await openConversation(b, ROOM);
    step('window B: attached, online as alice without logging in, #lobby open');

    // bob's room message: once in each window.
    await bob.ok({ cmd: 'msg_room', room: ROOM, text: 'standup in five' });
    await seenOnce(a, 'standup in five', 'A');
    await seenOnce(b, 'standup in five', 'B');
    step('bob\'s room message shows once in both windows');

    // bob's DM: once in each window.
    await bob.ok({ cmd: 'msg', user: 'alice', text: 'psst, the build is red' });
    await openConversation(b, 'bob');
    await seenOnce(b, 'psst, the build is red', 'B');
    await openConversation(a, 'bob');
    await seenOnce(a, 'psst, the build is red', 'A');
    step('bob\'s DM shows once in both windows');

    // A message from each window reaches bob once.
    await openConversation(a, ROOM);
    await sendFrom(a, 'from window A');
    await bob.event('message', (e) => e.from === 'alice' && e.text === 'from window A');
    await openConversation(b, ROOM);
    await sendFrom(b, 'from window B');
    await bob.event('message', (e) => e.from === 'alice' && e.text === 'from window B');
    await seenOnce(a, 'from window B', 'A');
    await seenOnce(b, 'from window A', 'B');
    assert.equal(received(bob, 'from window A'), 1, 'bob got window A\'s message once');
    assert.equal(received(bob, 'from window B'), 1, 'bob got window B\'s message once');
    step('a message from each window reached bob once, and shows once in both');
    await a.screenshot({ path: join(RESULTS, 'two-windows-a.png') });
    await b.screenshot({ path: join(RESULTS, 'two-windows-b.png') });

    // Window A runs the engine (its extension host holds the data folder's lock): close it
    // mid-conversation. bob writes while it goes.
    const folder = join(server.userDataDir, 'User/globalStorage/p2p-chat.p2p-chat');
    const before = await whoHolds(folder);
    assert.equal(before?.program, 'VS Code', 'a VS Code window holds the data folder');
    assert.equal(before?.attach, true);
    // alice types in B at once (while B is finding out that A left and taking over: what the
    // view asks meanwhile waits for the new engine), and bob writes meanwhile.
    const closing = Date.now();
    await a.close({ runBeforeUnload: true });
    await sendFrom(b, 'still here, from B');
    await bob.ok({ cmd: 'msg_room', room: ROOM, text: 'are you still there?' });
    await bob.event('message', (e) => e.from === 'alice' && e.text === 'still here, from B');
    const tookOver = Date.now() - closing;
    await seenOnce(b, 'are you still there?', 'B');
    await seenOnce(b, 'still here, from B', 'B');
    step(`window A closed: window B shows bob's message sent meanwhile and its own, ${((Date.now() - closing) / 1000).toFixed(1)} s later`);
    await b.locator('[aria-label^="P2P Chat, online as alice"]').first().waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    const after = await whoHolds(folder);
    assert.ok(after && after.pid !== before!.pid, `another extension host holds the folder now (pid ${before!.pid} before, ${after?.pid} after)`);
    assert.throws(() => process.kill(before!.pid, 0), 'window A\'s extension host has ended');
    await b.screenshot({ path: join(RESULTS, 'two-windows-b-took-over.png') });
    step(`window B took over (pid ${before!.pid} -> ${after.pid}): its message reached bob ${(tookOver / 1000).toFixed(1)} s after window A closed`);
    for (const text of ['standup in five', 'from window A', 'from window B', 'are you still there?', 'still here, from B']) assert.equal(await rows(b, text), 1, `"${text}" once in window B after the takeover`);
    assert.equal(received(bob, 'still here, from B'), 1);

    // A new window attaches to B (now running the engine) and reads the history from the store.
    const c = await openAnotherWindow(windowA, 'C');
    await openView(c);
    await openConversation(c, ROOM);
    for (const text of ['standup in five', 'from window A', 'from window B', 'are you still there?', 'still here, from B']) await seenOnce(c, text, 'C');
    step('a third window attaches and shows the whole #lobby history once');

    // Reload window B, which runs the engine now: window C takes over (or B's new extension host
    // wins the race and C attaches to it); either way one engine, and nothing lost or doubled.
    const beforeReload = await whoHolds(folder);
    await reloadWindow(b);
    await sendFrom(c, 'after the reload, from C');
    await bob.event('message', (e) => e.from === 'alice' && e.text === 'after the reload, from C');
    const afterReload = await whoHolds(folder);
    assert.ok(afterReload && afterReload.pid !== beforeReload?.pid, 'another extension host runs the engine after the reload');
    await openView(b);
    await openConversation(b, ROOM);
    for (const text of ['from window A', 'still here, from B', 'after the reload, from C']) {
      await seenOnce(b, text, 'B (reloaded)');
      await seenOnce(c, text, 'C');
    }
    assert.equal(received(bob, 'after the reload, from C'), 1);
    step('window B reloaded: the engine moved to another extension host, B and C show every message once');

    // With the chat view hidden in both windows, bob's DM raises one notification, in one window.
    for (const page of [b, c]) await runCommand(page, 'View: Show Explorer');
    await bob.ok({ cmd: 'msg', user: 'alice', text: 'one ping only' });
    const toast = (page: Page) => page.locator('.notifications-toasts .notification-toast', { hasText: 'one ping only' });
    await Promise.race([b, c].map((page) => toast(page).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS })));
    // The DM has reached the engine and been notified once: both windows already show it in the status item.
    for (const page of [b, c]) await page.locator('.statusbar-item', { hasText: '1 unread' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const toasts = (await toast(b).count()) + (await toast(c).count());
    assert.equal(toasts, 1, 'one notification for one message, in one window');
    step('bob\'s DM: one notification, in the window running the engine; both status items say 1 unread');

    // The extension's JSON state files in the global storage folder all parse.
    const storage = join(server.userDataDir, 'User/globalStorage');
    const json = filesUnder(storage).filter((name) => name.endsWith('.json'));
    assert.ok(json.length > 0, 'the global storage folder holds JSON state files');
    for (const name of json) assert.doesNotThrow(() => JSON.parse(readFileSync(join(storage, name), 'utf8')), `${name} parses`);
    step(`state files parse: ${json.join(', ')}`);
    assert.equal(received(bob, 'from window A'), 1);
    assert.equal(received(bob, 'from window B'), 1);
  } catch (err) {
    throw await failureReport(b && !b.isClosed() ? b : a, consoleLines, 'two-windows', err);
  }
});
