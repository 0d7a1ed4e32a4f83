// VS Code starts before the tracker can be reached (the laptop's network comes up later, the
// tracker is restarting): the saved session does not stay offline until someone logs in by hand.
// A real VS Code (code-server in Chromium, the extension as built), a real `node tracker`: alice
// registers, the tracker stops, the window reloads (offline, saying it tries again), the tracker
// starts again on the same address, and alice is online by herself.

import { test } from 'node:test';
import { waitForWorkbench } from '../helpers/code-server.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { NOTES_FOLDER, PASSWORDS } from './cast.ts';
import { openDevWindow, reloadWindow } from './dev-window.ts';
import { failureReport, openView, registerFromPalette, startScene, UI_TIMEOUT_MS } from './workbench.ts';

test('a saved session resumes by itself once the tracker is back after VS Code started without it', { timeout: 240_000 }, async (context) => {
  const { t, dir, step, tracker, trackerAddress } = await startScene(context, 'tracker-late');
  const { page, consoleLines } = await openDevWindow(t, dir, { files: NOTES_FOLDER });
  try {
    await waitForWorkbench(page);
    await openView(page);
    await registerFromPalette(page, trackerAddress, 'alice', PASSWORDS.alice);
    step('alice registered');

    await tracker.stop();
    await reloadWindow(page);
    const offline = page.locator('[aria-label^="P2P Chat, offline"]').first();
    await offline.waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    step('reloaded with the tracker down: offline');

    // The same tracker (folder, certificate, database) on the same address.
    await startTracker(t, { dir: tracker.dir, args: [...FAST_TRACKER_ARGS, '--port', String(tracker.port)] });
    step('the tracker is back');
    await page.locator('[aria-label^="P2P Chat, online as alice"]').first().waitFor({ state: 'attached', timeout: 45_000 });
    step('alice is online again without logging in');
  } catch (err) {
    throw await failureReport(page, consoleLines, 'tracker-late', err);
  }
});
