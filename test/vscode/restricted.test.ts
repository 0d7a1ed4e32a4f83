// Restricted Mode (issue 11, item 3): the chat runs nothing from the workspace, so it declares
// untrusted workspaces supported and works in a folder that is not trusted. The packaged .vsix is
// installed in a real VS Code (code-server, Workspace Trust on, the folder untrusted); the window
// is in Restricted Mode, and P2P Chat is there: its activity-bar entry, its view with the login
// form, its status item, and a person registers and sees the tracker's room. Without the
// capability VS Code disables the extension in such a window, and none of that is there.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitForWorkbench } from '../helpers/code-server.ts';
import { PASSWORDS, ROOM } from './cast.ts';
import { openPackagedWindow } from './dev-window.ts';
import { botInRoom, failureReport, openView, registerFromPalette, RESULTS, startScene, UI_TIMEOUT_MS } from './workbench.ts';

test('a Restricted Mode window (untrusted folder) has the chat', { timeout: 240_000 }, async (context) => {
  const { t, dir, step, trackerAddress } = await startScene(context, 'restricted');
  const { ready: botReady } = botInRoom(t, trackerAddress, join(dir, 'bot'), 'bot', PASSWORDS.bot, ROOM);
  const { page, blocked, consoleLines } = await openPackagedWindow(t, dir, { restricted: true, files: { 'build.sh': 'echo untrusted\n' } });
  try {
    await waitForWorkbench(page);
    // The window says it is in Restricted Mode (its status bar entry).
    await page.locator('.statusbar-item', { hasText: /Restricted Mode/i }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('the window is in Restricted Mode');

    const frame = await openView(page);
    await frame.locator('#login-user').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.locator('[aria-label="P2P Chat, logged out"]').first().waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    step('P2P Chat is enabled: its view shows the login form, its status item is there');

    await botReady;
    await registerFromPalette(page, trackerAddress, 'alice', PASSWORDS.alice);
    await frame.page().locator('.statusbar-item', { hasText: 'alice' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const view = await openView(page);
    await view.locator(`.directory-room[data-room="${ROOM}"]`).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: join(RESULTS, 'restricted-mode.png') });
    step('registered in Restricted Mode; the Directory lists the bot\'s room');
    assert.deepEqual(blocked, [], 'the workbench tried to leave the machine');
  } catch (err) {
    throw await failureReport(page, consoleLines, 'restricted', err);
  }
});
