// Steps the tests here take as a person does in a real VS Code: a
// conversation opened from the view's list, a message row reached with the arrow keys or the
// mouse, the composer focused, a file opened and lines selected in the editor, and where the
// Comments API's threads of P2P Chat show in an editor (their gutter glyph and their widget).

import assert from 'node:assert/strict';
import type { Frame, Locator, Page } from 'playwright-core';
import { UI_TIMEOUT_MS, webviewFrame } from './workbench.ts';

/** Opens conversation `title` (a room's name, or the other person's for a direct one) from the view's list; returns the view's frame. */
export async function openConversation(page: Page, title: string): Promise<Frame> {
  const frame = await webviewFrame(page, '.conversation');
  const row = frame.locator('.conversation', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await row.click();
  await frame.locator(`.composer textarea[placeholder="Message ${title}"]`).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  return frame;
}

/** The timeline row of message `id` (ids are the engine's, the same as in the bot's events). */
export const messageRow = (frame: Frame, id: string): Locator => frame.locator(`.row.message[data-id="${id}"]`);

/** The id of the message row holding the keyboard focus in the view (undefined when none). */
export const focusedMessage = (frame: Frame): Promise<string | undefined> =>
  frame.evaluate(() => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.row.message')?.dataset.id);

/**
 * Keyboard only: the timeline takes the focus, then Up moves from row to row (and the links and
 * buttons in them) until message `id` has it. Throws when it is never reached.
 */
export async function arrowToMessage(page: Page, frame: Frame, id: string): Promise<void> {
  await frame.locator('.timeline').focus();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('ArrowUp');
    const at = await frame.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id);
    if (at === id) return;
  }
  throw new Error(`Up never reached message ${id}`);
}

/** Waits until the focused element of the view matches `selector`. */
export async function focusOn(frame: Frame, selector: string): Promise<void> {
  await frame.waitForFunction((sel) => document.activeElement?.matches(sel) ?? false, selector, { timeout: UI_TIMEOUT_MS });
}

/** Whether message `id`'s row is inside the timeline's visible box. */
export function inTimelineView(frame: Frame, id: string): Promise<boolean> {
  return frame.evaluate((id) => {
    const box = document.querySelector('.timeline')!.getBoundingClientRect();
    const row = [...document.querySelectorAll<HTMLElement>('.row.message')].find((el) => el.dataset.id === id);
    const r = row?.getBoundingClientRect();
    return Boolean(r && r.top >= box.top - 1 && r.bottom <= box.bottom + 1);
  }, id);
}

/** Opens `name` with Quick Open (Ctrl+P); resolves when its editor has the focus. */
export async function openFile(page: Page, name: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: name }).first();
  const deadline = Date.now() + UI_TIMEOUT_MS;
  // A key pressed while the focus moves into or out of a webview can be lost, and the box it
  // opened closed again as a webview takes the focus: open it again until it lists the file.
  for (;;) {
    try {
      await page.keyboard.press('Control+P');
      await input.waitFor({ state: 'visible', timeout: 3_000 });
      await input.fill(name, { timeout: 3_000 });
      await row.waitFor({ state: 'visible', timeout: 5_000 });
      await row.click({ timeout: 3_000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Quick Open never opened ${name}: ${(err as Error).message}`);
      await page.keyboard.press('Escape');
    }
  }
  await page.locator('.editor-instance .monaco-editor.focused').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
}

/** Waits until the composer of conversation `title` has the keyboard focus (inside the view, and the view inside VS Code); returns the view's frame. */
export async function composerFocused(page: Page, title: string): Promise<Frame> {
  const frame = await webviewFrame(page, '.composer textarea');
  await frame.waitForFunction(
    (placeholder) => {
      const el = document.activeElement as HTMLTextAreaElement | null;
      return Boolean(el?.classList.contains('composer-input') && el.placeholder === placeholder && document.hasFocus());
    },
    `Message ${title}`,
    { timeout: UI_TIMEOUT_MS },
  );
  return frame;
}

/** Go to Line (Ctrl+G) in the focused editor: the cursor at the start of line `line`. */
export async function goToLine(page: Page, line: number): Promise<void> {
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
  await page.locator('.editor-instance .monaco-editor.focused').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
}

/** The gutter glyphs of the comment threads in the visible editor (VS Code's CommentGlyphWidget). */
export const threadGlyphs = (page: Page): Locator => page.locator('.editor-instance .monaco-editor .margin-view-overlays .comment-range-glyph:is(.comment-thread, .comment-thread-unresolved)');

/** The line numbers the comment-thread glyphs of the visible editor sit on (each glyph shares its line's margin box with the line number). */
export async function glyphLines(page: Page): Promise<number[]> {
  const lines: number[] = [];
  for (const glyph of await threadGlyphs(page).all()) {
    const number = glyph.locator('xpath=..').locator('.line-numbers');
    lines.push(Number((await number.innerText()).trim()));
  }
  return lines.sort((a, b) => a - b);
}

/** Waits until the comment-thread glyphs of the visible editor sit on exactly `expected` lines. */
export async function waitForGlyphLines(page: Page, expected: number[]): Promise<void> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  let seen: number[] = [];
  for (;;) {
    seen = await glyphLines(page).catch(() => []);
    if (JSON.stringify(seen) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) assert.deepEqual(seen, expected, 'the comment threads\' gutter glyphs are on these lines');
    await page.waitForTimeout(200);
  }
}

/** The open comment-thread widget (VS Code's review zone) in the visible editor. */
export const threadWidget = (page: Page): Locator => page.locator('.editor-instance .monaco-editor .review-widget').first();
