// Driving a real VS Code (code-server in Chromium) as a person does, shared by the tests here:
// what every such test starts with (checked bundles, a folder, a tracker), a `node peer --json`
// bot that scripts a chat member, the command palette, input boxes, the view's webview frame,
// registering and joining from the palette, and the report of a failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import { checkBundle, lifoTeardown } from '../helpers/code-server.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, startTracker, type Teardown, type TrackerProcess } from '../helpers/tracker-process.ts';

export const UI_TIMEOUT_MS = 30_000;
/** Where the tests' screenshots go. */
export const RESULTS = join(REPO_ROOT, 'test-results');

// ---- the scene: bundles, a folder, a tracker ------------------------------------------------------

export interface Scene {
  /** The test's teardown, run last-registered first (lifoTeardown). */
  t: Teardown;
  /** A fresh folder for the test's files, removed in teardown. */
  dir: string;
  /** Logs a step with the seconds since the scene was set. */
  step(what: string): void;
  tracker: TrackerProcess;
  /** HOST:PORT of the tracker, as a person types it. */
  trackerAddress: string;
}

/**
 * What every workbench test starts with: the extension's, the webview's and `node peer`'s bundles
 * checked against their sources, test-results/ made, a fresh folder `p2p-chat-NAME-...`, and a real
 * tracker (FAST_TRACKER_ARGS).
 */
export async function startScene(context: Teardown, name: string): Promise<Scene> {
  const t = lifoTeardown(context);
  checkBundle('dist/extension.cjs', ['extension', 'peer', 'protocol'], ['.ts']);
  checkBundle('dist/webview.js', ['webview'], ['.ts', '.tsx', '.css']);
  checkBundle('dist/peer.cjs', ['peer', 'protocol'], ['.ts']);
  mkdirSync(RESULTS, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), `p2p-chat-${name}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const started = Date.now();
  const step = (what: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${what}`);

  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  return { t, dir, step, tracker, trackerAddress: `${tracker.host}:${tracker.port}` };
}

// ---- the bot: `node peer --json`, one command per line, answers by id, events as they come -------

export type Line = Record<string, unknown>;

/** A `node peer --json` process; with `pong`, it answers every room message from someone else with "pong: <text>". */
export class Bot {
  readonly child: ChildProcess;
  readonly received: Line[] = [];
  private nextId = 1;
  private partial = '';
  private stderr = '';
  private readonly answers = new Map<number, (a: Line) => void>();
  private readonly waiters = new Set<(e: Line) => boolean>();
  private readonly events: Line[] = [];

  constructor(
    t: Teardown,
    tracker: string,
    data: string,
    private readonly opts: { pong?: boolean } = {},
  ) {
    this.child = spawn(process.execPath, [join(REPO_ROOT, 'peer'), '--json', '--tracker', tracker, '--data', data], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.on('error', () => {});
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.child.stdout!.on('data', (c: Buffer) => {
      const lines = (this.partial + c.toString('utf8')).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) if (line.trim()) this.onLine(JSON.parse(line) as Line);
    });
    t.after(async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    });
  }

  /** Sends a command; resolves with its answer, rejects when it failed. */
  ok(cmd: Line, timeoutMs = 60_000): Promise<Line> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bot: no answer to ${JSON.stringify(cmd)} within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      this.answers.set(id, (a) => {
        clearTimeout(timer);
        if (a.ok) resolve(a);
        else reject(new Error(`bot: ${JSON.stringify(cmd)} failed: ${JSON.stringify(a.error)}`));
      });
      this.child.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
    });
  }

  /** Ends the bot with its `exit` command (the saved session stays: a new Bot on its folder resumes it). */
  async stop(timeoutMs = UI_TIMEOUT_MS): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.write(JSON.stringify({ id: this.nextId++, cmd: 'exit' }) + '\n');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`bot: did not exit within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs)))]).finally(() => clearTimeout(timer));
  }

  /** Every event `name` matching `predicate` seen so far. */
  seen(name: string, predicate: (e: Line) => boolean = () => true): Line[] {
    return this.events.filter((e) => e.event === name && predicate(e));
  }

  /** The first event `name` matching `predicate`, seen already or to come. */
  event(name: string, predicate: (e: Line) => boolean = () => true, timeoutMs = UI_TIMEOUT_MS): Promise<Line> {
    const match = (e: Line) => e.event === name && predicate(e);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = (e: Line) => {
        if (!match(e)) return false;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(e);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`bot: no ${name} event matching ${predicate} within ${timeoutMs} ms; events: ${this.events.map((e) => JSON.stringify(e).slice(0, 160)).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private onLine(line: Line): void {
    if (typeof line.event === 'string') {
      this.events.push(line);
      for (const w of this.waiters) w(line);
      // The bot's job: answer every room message from someone else.
      if (this.opts.pong && line.event === 'message' && line.from !== 'bot' && !line.direct) {
        this.received.push(line);
        void this.ok({ cmd: 'msg_room', room: line.room, text: `pong: ${line.text}` }).catch(() => {});
      }
      return;
    }
    const answer = this.answers.get(line.id as number);
    if (answer) {
      this.answers.delete(line.id as number);
      answer(line);
    }
  }
}

/**
 * A Bot on `data` that registers as `user`, logs in and creates `room`, begun at once (while VS
 * Code starts); `ready` settles when it has, and a failure is reported where `ready` is awaited.
 */
export function botInRoom(t: Teardown, tracker: string, data: string, user: string, password: string, room: string, opts: { pong?: boolean } = {}): { bot: Bot; ready: Promise<void> } {
  const bot = new Bot(t, tracker, data, opts);
  const ready = (async () => {
    await bot.ok({ cmd: 'register', user, password });
    await bot.ok({ cmd: 'login', user, password });
    await bot.ok({ cmd: 'create_room', room });
  })();
  ready.catch(() => {});
  return { bot, ready };
}

// ---- driving the workbench as a person ------------------------------------------------------------

/** Opens the command palette, types the command until VS Code lists it, runs it. */
export async function runCommand(page: Page, label: string): Promise<void> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    await page.keyboard.press('Control+Shift+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    // A key pressed while the focus moves into or out of a webview can be lost: press it again.
    const opened = await input.waitFor({ state: 'visible', timeout: 3_000 }).then(
      () => true,
      () => false,
    );
    if (!opened) {
      if (Date.now() > deadline) throw new Error(`the command palette did not open for "${label}"`);
      continue;
    }
    // A focus move just then (a webview taking it back) closes the palette: open it again.
    const filled = await input.fill('>', { timeout: 3_000 }).then(
      () => true,
      () => false,
    );
    if (!filled) {
      if (Date.now() > deadline) throw new Error(`the command palette closed before "${label}" could be typed`);
      continue;
    }
    await page.keyboard.type(label);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: label }).first();
    try {
      // An open palette does not refresh: if the extension registered the command later, close it and type again.
      await row.waitFor({ state: 'visible', timeout: 3_000 });
      await row.click();
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error(`the palette never listed "${label}": ${(err as Error).message}`);
    }
  }
}

/** Waits for the input box whose prompt matches, replaces its value by typing, and accepts it. */
export async function answerInputBox(page: Page, prompt: RegExp, text: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-message', { hasText: prompt }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  const input = widget.locator('.quick-input-box input');
  await input.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

/** The webview frame that holds `selector` (webview frames are recreated when the view is hidden: look each time). */
export async function webviewFrame(page: Page, selector: string, timeoutMs = UI_TIMEOUT_MS): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (!frame.url().includes('/webview/')) continue;
      if (await frame.locator(selector).count().catch(() => 0)) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no webview frame holds ${selector}; frames: ${page.frames().map((f) => f.url().slice(0, 120)).join(', ')}`);
    await page.waitForTimeout(200);
  }
}

/** Opens P2P Chat from the activity bar (clicking an open one would close it); returns the view's frame. */
export async function openView(page: Page): Promise<Frame> {
  const entry = page.locator('.activitybar [aria-label^="P2P Chat"]').first();
  await entry.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  const open = page.locator('.sidebar .composite.title .title-label', { hasText: /P2P Chat/i });
  // After a reload the workbench may restore the sidebar just after we looked: a click then
  // closes it again. So click, and look again, until the view's title shows.
  for (let attempt = 0; attempt < 3 && !(await open.isVisible()); attempt++) {
    await entry.click();
    await open.waitFor({ state: 'visible', timeout: 5_000 }).catch(() => {});
  }
  return webviewFrame(page, '#root *');
}

/**
 * Registers from the palette, typing into each input box; on the first connection's dialog
 * (given first to `checkDialog`, to compare the fingerprint) trusts the tracker, and waits until
 * the status bar shows the user signed in.
 */
export async function registerFromPalette(page: Page, tracker: string, user: string, password: string, checkDialog?: (dialog: Locator) => Promise<void>): Promise<void> {
  await runCommand(page, 'P2P Chat: Register');
  await answerInputBox(page, /Tracker address/, tracker);
  await answerInputBox(page, /User name/, user);
  await answerInputBox(page, /Choose a password/, password);
  await answerInputBox(page, /Type the password again/, password);
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await checkDialog?.(dialog);
  await dialog.getByRole('button', { name: 'Trust' }).click();
  await page.locator('.statusbar-item', { hasText: user }).first().waitFor({ state: 'visible', timeout: 60_000 });
}

/** Joins `room` from the palette's quick pick, once it lists the room. */
export async function joinRoomFromPalette(page: Page, room: string): Promise<void> {
  await runCommand(page, 'P2P Chat: Join Room');
  const pick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: room }).first();
  await pick.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await page.keyboard.type(room);
  await page.keyboard.press('Enter');
}

// ---- when a test fails ---------------------------------------------------------------------------

/**
 * The error to throw for `err`, after a screenshot to test-results/NAME-failure.png: its stack,
 * and the last 30 errors and warnings of the browser console.
 */
export async function failureReport(page: Page, consoleLines: string[], name: string, err: unknown): Promise<Error> {
  await page.screenshot({ path: join(RESULTS, `${name}-failure.png`) }).catch(() => {});
  const tail = consoleLines.filter((l) => /^\[(error|warning)\]/.test(l)).slice(-30);
  return new Error(`${(err as Error).stack}\n--- screenshot: test-results/${name}-failure.png ---\n--- browser console errors (tail) ---\n${tail.join('\n')}`);
}

/**
 * Opens a comment thread's reply box and puts the focus in it, as a person clicking Reply then
 * into the box would. Under load the click has opened the box without moving the focus into it
 * (its editor never became focused): then the box is clicked.
 */
export async function focusReplyBox(widget: Locator): Promise<void> {
  const button = widget.locator('.review-thread-reply-button');
  if (await button.isVisible()) await button.click();
  const editor = widget.locator('.comment-form .monaco-editor').first();
  await editor.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  const focused = widget.locator('.comment-form .monaco-editor.focused');
  const inside = await focused.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false);
  if (!inside) await editor.click();
  await focused.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
}
