// End to end, as a person uses it: the packaged p2p-chat.vsix installed in a real VS Code
// (code-server, `--install-extension`), Chromium clicking and typing, a real `node tracker`, and a
// `node peer --json` bot (user `bot`, in room `lobby`) that answers every message with
// "pong: <text>". The person opens P2P Chat from the activity bar, registers from the command
// palette (typing into the input boxes and accepting the tracker's fingerprint), joins the room
// from the palette, sends a message from the view's composer, and sees the bot's reply. Screenshots
// in the dark and the light theme go to test-results/. Fails, with the reason, where code-server
// or Chromium is not installed (.ci/run installs both with scripts/install-code-server.sh).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitForWorkbench } from '../helpers/code-server.ts';
import { filesHolding } from '../helpers/files-under.ts';
import { NOTES_FOLDER, PASSWORDS, ROOM } from './cast.ts';
import { openPackagedWindow } from './dev-window.ts';
import { setColorTheme, THEMES } from './themes.ts';
import { botInRoom, failureReport, joinRoomFromPalette, openView, registerFromPalette, RESULTS, runCommand, startScene, UI_TIMEOUT_MS, webviewFrame } from './workbench.ts';

const PASSWORD = 'plum kettle orbit 93 lantern';

test('a person chats with a bot from VS Code: packaged .vsix, palette, view, themes', { timeout: 180_000 }, async (context) => {
  const { t, dir, step, tracker, trackerAddress } = await startScene(context, 'e2e');

  // The bot registers, logs in and opens the room while VS Code starts.
  const { bot, ready: botReady } = botInRoom(t, trackerAddress, join(dir, 'bot'), 'bot', PASSWORDS.bot, ROOM, { pong: true });
  const { server, page, blocked, consoleLines } = await openPackagedWindow(t, dir, { files: NOTES_FOLDER });
  step(`packaged p2p-chat.vsix; code-server on ${server.origin}, the .vsix installed`);
  try {
    await waitForWorkbench(page, THEMES.dark.themeClass);
    step('workbench ready (dark theme)');
    await botReady;
    step('bot registered, logged in, in #lobby');

    // The activity bar entry opens the view (clicking an open one would close it).
    await openView(page);
    step('P2P Chat view open');

    // Register from the palette, typing into each box. First connection: compare the
    // fingerprint, then trust it.
    await registerFromPalette(page, trackerAddress, 'alice', PASSWORD, async (dialog) => {
      assert.ok((await dialog.innerText()).includes(tracker.fingerprint), 'the trust dialog shows the fingerprint the tracker printed');
    });
    step('registered and signed in as alice (status bar)');

    // Join the bot's room from the palette's quick pick.
    await joinRoomFromPalette(page, ROOM);
    await bot.event('member_joined', (e) => e.room === ROOM && e.user === 'alice');
    step('joined #lobby');

    // Write in the view's composer; the bot gets it and answers.
    let frame = await webviewFrame(page, '.composer textarea');
    await frame.locator('.composer textarea').click();
    await page.keyboard.type('hello bot');
    await page.keyboard.press('Enter');
    const got = await bot.event('message', (e) => e.text === 'hello bot');
    assert.equal(got.from, 'alice');
    assert.equal(got.room, ROOM);
    frame = await webviewFrame(page, '.composer textarea');
    await frame.getByText('pong: hello bot').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('the bot got "hello bot"; its reply is in the view');

    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(RESULTS, 'e2e-dark.png') });
    // The view follows the theme through VS Code's CSS variables (setColorTheme lets it repaint).
    await setColorTheme(page, 'light');
    frame = await webviewFrame(page, '.composer textarea');
    await frame.getByText('pong: hello bot').first().waitFor({ state: 'visible' });
    await page.screenshot({ path: join(RESULTS, 'e2e-light.png') });
    step(`screenshots: ${join(RESULTS, 'e2e-dark.png')}, ${join(RESULTS, 'e2e-light.png')}`);

    // Leaving while a message reached nobody: the bot goes away, alice writes, and Leave Room asks
    // first (a modal that says so); Cancel stays, Leave Anyway leaves.
    await bot.stop();
    frame = await webviewFrame(page, '.composer textarea');
    await frame.locator('.composer textarea').click();
    await page.keyboard.type('anyone there?');
    await page.keyboard.press('Enter');
    await frame.getByText('anyone there?').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const leave = async (button: 'Cancel' | 'Leave Anyway') => {
      await runCommand(page, 'P2P Chat: Leave Room');
      await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: ROOM }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
      await page.keyboard.type(ROOM);
      await page.keyboard.press('Enter');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
      assert.match(await dialog.innerText(), /1 of your messages there has not reached any member yet/);
      if (button === 'Cancel') await page.screenshot({ path: join(RESULTS, 'e2e-leave-undelivered.png') });
      await dialog.getByRole('button', { name: button }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    };
    await leave('Cancel');
    await frame.getByText('pong: hello bot').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await leave('Leave Anyway');
    // Left: the room is gone from the view's list of rooms.
    frame = await webviewFrame(page, '.lists');
    await frame.locator(`.conversation[data-key]`, { hasText: ROOM }).waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    step('Leave Room asked first while "anyone there?" had reached nobody; Cancel stayed, Leave Anyway left');

    assert.deepEqual(blocked, [], 'the workbench tried to leave the machine');
    // Nothing VS Code keeps on disk (settings, state, logs, the extension's storage) holds the password.
    assert.deepEqual(filesHolding(server.userDataDir, PASSWORD), [], 'files in the user-data folder hold the password');
    assert.deepEqual(bot.received.map((m) => m.text), ['hello bot'], 'the bot got exactly the one message');
  } catch (err) {
    throw await failureReport(page, consoleLines, 'e2e', err);
  }
});
