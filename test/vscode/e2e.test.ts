// End to end, as a person uses it: the packaged p2p-chat.vsix installed in a real VS Code
// (code-server, `--install-extension`), Chromium clicking and typing, a real `node tracker`, and a
// `node peer --json` bot (user `bot`, in room `lobby`) that answers every message with
// "pong: <text>". The person opens P2P Chat from the activity bar, registers from the command
// palette (typing into the input boxes and accepting the tracker's fingerprint), joins the room
// from the palette, sends a message from the view's composer, and sees the bot's reply. Screenshots
// in the dark and the light theme go to test-results/. Fails, with the reason, where code-server
// or Chromium is not installed (.ci/run installs both with scripts/install-code-server.sh).

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { checkBundle, lifoTeardown, openWorkbench, packageVsix, startCodeServer, waitForWorkbench } from '../helpers/code-server.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, startTracker } from '../helpers/tracker-process.ts';
import { answerInputBox, Bot, runCommand, UI_TIMEOUT_MS, webviewFrame } from './workbench.ts';

const RESULTS = join(REPO_ROOT, 'test-results');
const PASSWORD = 'plum kettle orbit 93 lantern';
const BOT_PASSWORD = 'velvet anchor drizzle 58 quartz';
const ROOM = 'lobby';
const DARK = 'vscode-theme-defaults-themes-dark_modern';
const LIGHT = 'vscode-theme-defaults-themes-light_modern';

async function setColorTheme(page: Page, theme: string, themeClass: string): Promise<void> {
  await runCommand(page, 'Preferences: Color Theme');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await page.keyboard.type(theme);
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: theme }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await waitForWorkbench(page, themeClass, UI_TIMEOUT_MS);
}

test('a person chats with a bot from VS Code: packaged .vsix, palette, view, themes', { timeout: 180_000 }, async (context) => {
  const t = lifoTeardown(context);
  checkBundle('dist/extension.cjs', ['extension', 'peer', 'protocol'], ['.ts']);
  checkBundle('dist/webview.js', ['webview'], ['.ts', '.tsx', '.css']);
  checkBundle('dist/peer.cjs', ['peer', 'protocol'], ['.ts']);
  mkdirSync(RESULTS, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const started = Date.now();
  const step = (what: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${what}`);

  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerAddress = `${tracker.host}:${tracker.port}`;

  // The bot registers, logs in and opens the room while VS Code starts.
  const bot = new Bot(t, trackerAddress, join(dir, 'bot'), { pong: true });
  const botReady = (async () => {
    await bot.ok({ cmd: 'register', user: 'bot', password: BOT_PASSWORD });
    await bot.ok({ cmd: 'login', user: 'bot', password: BOT_PASSWORD });
    await bot.ok({ cmd: 'create_room', room: ROOM });
  })();
  botReady.catch(() => {});
  const { path: vsix } = await packageVsix(join(dir, 'p2p-chat.vsix'));
  step('packaged p2p-chat.vsix');

  const server = await startCodeServer(t, { install: [vsix], files: { 'README.md': '# Team notes\n' } });
  step(`code-server on ${server.origin}, the .vsix installed`);
  const consoleLines: string[] = [];
  const { page, blocked } = await openWorkbench(t, server, server.url(), { onConsole: (l) => consoleLines.push(l) });
  try {
    await waitForWorkbench(page, DARK);
    step('workbench ready (dark theme)');
    await botReady;
    step('bot registered, logged in, in #lobby');

    // The activity bar entry opens the view (clicking an open one would close it).
    const entry = page.locator('.activitybar [aria-label^="P2P Chat"]').first();
    await entry.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const open = page.locator('.sidebar .composite.title .title-label', { hasText: /P2P Chat/i });
    if (!(await open.isVisible())) await entry.click();
    await webviewFrame(page, '#root *');
    step('P2P Chat view open');

    // Register from the palette, typing into each box.
    await runCommand(page, 'P2P Chat: Register');
    await answerInputBox(page, /Tracker address/, trackerAddress);
    await answerInputBox(page, /User name/, 'alice');
    await answerInputBox(page, /Choose a password/, PASSWORD);
    await answerInputBox(page, /Type the password again/, PASSWORD);
    // First connection: compare the fingerprint, then trust it.
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.ok((await dialog.innerText()).includes(tracker.fingerprint), 'the trust dialog shows the fingerprint the tracker printed');
    await dialog.getByRole('button', { name: 'Trust' }).click();
    await page.locator('.statusbar-item', { hasText: 'alice' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    step('registered and signed in as alice (status bar)');

    // Join the bot's room from the palette's quick pick.
    await runCommand(page, 'P2P Chat: Join Room');
    const pick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: ROOM }).first();
    await pick.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.keyboard.type(ROOM);
    await page.keyboard.press('Enter');
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
    await setColorTheme(page, 'Default Light Modern', LIGHT);
    // The view follows the theme through VS Code's CSS variables: give it a frame to repaint.
    frame = await webviewFrame(page, '.composer textarea');
    await frame.getByText('pong: hello bot').first().waitFor({ state: 'visible' });
    // Two animation frames: the theme's new CSS variables are painted.
    await frame.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.screenshot({ path: join(RESULTS, 'e2e-light.png') });
    step(`screenshots: ${join(RESULTS, 'e2e-dark.png')}, ${join(RESULTS, 'e2e-light.png')}`);

    assert.deepEqual(blocked, [], 'the workbench tried to leave the machine');
    // Nothing VS Code keeps on disk (settings, state, logs, the extension's storage) holds the password.
    const needle = Buffer.from(PASSWORD, 'utf8');
    const holding = (readdirSync(server.userDataDir, { recursive: true }) as string[]).filter((name) => {
      const path = join(server.userDataDir, name);
      return statSync(path, { throwIfNoEntry: false })?.isFile() && readFileSync(path).includes(needle);
    });
    assert.deepEqual(holding, [], 'files in the user-data folder hold the password');
    assert.deepEqual(bot.received.map((m) => m.text), ['hello bot'], 'the bot got exactly the one message');
  } catch (err) {
    await page.screenshot({ path: join(RESULTS, 'e2e-failure.png') }).catch(() => {});
    const tail = consoleLines.filter((l) => /^\[(error|warning)\]/.test(l)).slice(-30);
    throw new Error(`${(err as Error).stack}\n--- screenshot: test-results/e2e-failure.png ---\n--- browser console errors (tail) ---\n${tail.join('\n')}`);
  }
});
