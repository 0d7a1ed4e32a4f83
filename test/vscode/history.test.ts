// "Nothing lost" in a real VS Code (code-server in Chromium, the extension as built in dist/), a
// real `node tracker` and a `node peer --json` bot, user bob, in room `lobby`. A person registers
// from the palette, joins, and bob writes 120 notes. The window is reloaded: the view shows the
// newest page of the lobby from the engine's store; scrolling up (Home, keyboard only) loads the
// older pages down to the first note. Then bob goes away: a message to the lobby shows "waiting
// for bob", and the delivered tick once bob's client starts again (and resumes its session).
// Screenshots go to test-results/. Fails, with the reason, where code-server or Chromium is not
// installed (.ci/run installs both).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { waitForWorkbench } from '../helpers/code-server.ts';
import { NOTES_FOLDER, PASSWORDS, ROOM } from './cast.ts';
import { openDevWindow } from './dev-window.ts';
import { signUpAndJoin } from './sign-up.ts';
import { Bot, botInRoom, failureReport, openView, RESULTS, startScene, UI_TIMEOUT_MS, webviewFrame } from './workbench.ts';

const NOTES = 120;
/** Delivery after bob's client starts again: its start, sign-in, and the sender's retry. */
const DELIVERY_TIMEOUT_MS = 60_000;

/** The lobby's chat in the view: opened from the conversation list unless the view reopened it itself. */
/** How long a Home press may take to start and end its smooth scroll (ms). */
const SCROLL_MS = 10_000;

async function lobby(page: Page): Promise<Frame> {
  const frame = await webviewFrame(page, '.conversation');
  if (!(await frame.locator(`.chat[data-key]`).count())) await frame.locator('.conversation', { hasText: ROOM }).first().click();
  await frame.locator('.composer textarea').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  return frame;
}

/**
 * Home on the focused timeline, as a person presses it; resolves when the (smooth) scroll ended.
 * At the top already, it does nothing (no scroll, no scrollend).
 */
async function home(page: Page, frame: Frame): Promise<void> {
  const timeline = frame.locator('.timeline');
  // A key pressed while the focus moves into the webview can be lost (seen once under load: the
  // test then waited for a scrollend that never came): pressed again, a few times, then failed.
  for (let press = 1; ; press++) {
    await timeline.focus();
    if ((await timeline.evaluate((el) => el.scrollTop)) === 0) return;
    const ended = timeline.evaluate((el, ms) => new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      el.addEventListener('scrollend', () => {
        clearTimeout(timer);
        resolve(true);
      }, { once: true });
    }), SCROLL_MS);
    await page.keyboard.press('Home');
    if (await ended) return;
    if (press === 3) throw new Error(`Home did not scroll the timeline within ${SCROLL_MS} ms, three times`);
  }
}

/** Whether the note's row is inside the timeline's visible box. */
function inView(frame: Frame, n: number): Promise<boolean> {
  return frame.evaluate((text) => {
    const box = document.querySelector('.timeline')!.getBoundingClientRect();
    const body = [...document.querySelectorAll('.row.message .message-body')].find((el) => el.textContent === text);
    const r = body?.getBoundingClientRect();
    return Boolean(r && r.top >= box.top - 1 && r.bottom <= box.bottom + 1);
  }, `note ${n}`);
}

/** A note's row (its exact text), rendered or not yet. */
const note = (frame: Frame, n: number) => frame.locator('.row.message .message-body', { hasText: new RegExp(`^note ${n}$`) });

test('a reloaded VS Code window shows its history, older pages load when scrolled up, and a message to bob while he is away waits for him, then is delivered', { timeout: 300_000 }, async (context) => {
  const { t, dir, step, trackerAddress } = await startScene(context, 'history');
  const bobData = join(dir, 'bob');
  const { bot: bob, ready: bobReady } = botInRoom(t, trackerAddress, bobData, 'bob', PASSWORDS.bob, ROOM);
  const { page, consoleLines } = await openDevWindow(t, dir, { files: NOTES_FOLDER });
  try {
    await bobReady;
    await signUpAndJoin(page, { tracker: trackerAddress, user: 'alice', password: PASSWORDS.alice, room: ROOM, member: bob });
    step('alice registered and joined #lobby');

    for (let i = 0; i < NOTES; i++) await bob.ok({ cmd: 'msg_room', room: ROOM, text: `note ${i}` });
    let frame = await lobby(page);
    await note(frame, NOTES - 1).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step(`bob wrote ${NOTES} notes; the last is in the view`);

    // The window reloads: a new extension host resumes the session; the view reads the store.
    await page.reload();
    await waitForWorkbench(page);
    await openView(page);
    frame = await lobby(page);
    await note(frame, NOTES - 1).waitFor({ state: 'visible', timeout: 60_000 });
    assert.equal(await note(frame, 0).count(), 0, 'the view opens on the newest page only');
    step('reloaded: the newest notes are shown from the store');

    // Keyboard only: the timeline takes the focus and Home scrolls it to the top, page by page.
    // Pages of 50: notes 70-119 shown, then 20-69, then 0-19. The newest of each page lands right above what was read.
    for (const newestOfPage of [69, 19]) {
      await home(page, frame);
      await note(frame, newestOfPage).waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    }
    await frame.locator('.row.older').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    // The first page in view: Home again (a row measured during the smooth scroll may stop it
    // short of the top, as it keeps the row read in place; a second Home then reaches it).
    for (let press = 0; press < 2 && !(await inView(frame, 0)); press++) await home(page, frame);
    assert.ok(await inView(frame, 0), 'note 0 is on screen');
    assert.equal(await frame.locator('.row.older').count(), 0, 'the first note reached: nothing older to load');
    await page.screenshot({ path: join(RESULTS, 'history-first-note.png') });
    step('scrolled up to note 0 through the older pages');

    // bob goes away; my message waits for him.
    await bob.stop();
    const text = 'are you there bob?';
    await frame.locator('.composer textarea').click();
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
    const mine = frame.locator('.row.message.mine', { hasText: text });
    const waiting = mine.locator('.delivery-state.waiting');
    await waiting.waitFor({ state: 'visible', timeout: DELIVERY_TIMEOUT_MS });
    assert.equal((await waiting.innerText()).trim(), 'waiting for bob');
    await page.screenshot({ path: join(RESULTS, 'history-waiting-for-bob.png') });
    step('bob is away: "waiting for bob"');

    // bob's client starts again on its folder and resumes; the message reaches him, the tick shows.
    const bobAgain = new Bot(t, trackerAddress, bobData);
    const got = await bobAgain.event('message', (e) => e.text === text, DELIVERY_TIMEOUT_MS);
    assert.equal(got.from, 'alice');
    const tick = mine.locator('.delivery.delivered-all.codicon-check-all');
    await tick.waitFor({ state: 'visible', timeout: DELIVERY_TIMEOUT_MS });
    assert.equal(await mine.locator('.delivery-state').count(), 0, 'no longer waiting');
    await page.screenshot({ path: join(RESULTS, 'history-delivered.png') });
    step('bob is back: delivered');
  } catch (err) {
    throw await failureReport(page, consoleLines, 'history', err);
  }
});
