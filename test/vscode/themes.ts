// VS Code's color themes in the tests: switched from the palette as a person does, and the
// screenshots of a window in each of them (test-results/).

import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { waitForWorkbench } from '../helpers/code-server.ts';
import { RESULTS, runCommand, UI_TIMEOUT_MS } from './workbench.ts';

/** Each theme's name in the palette, and the class the workbench then carries. */
export const THEMES = {
  dark: { theme: 'Default Dark Modern', themeClass: 'vscode-theme-defaults-themes-dark_modern' },
  light: { theme: 'Default Light Modern', themeClass: 'vscode-theme-defaults-themes-light_modern' },
  'high-contrast': { theme: 'Default High Contrast', themeClass: 'vscode-theme-defaults-themes-hc_black' },
} as const;
export type ThemeName = keyof typeof THEMES;

/** Switches the color theme from the palette; resolves when the workbench and the views show it. */
export async function setColorTheme(page: Page, name: ThemeName): Promise<void> {
  const { theme, themeClass } = THEMES[name];
  await runCommand(page, 'Preferences: Color Theme');
  await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible' });
  await page.keyboard.type(theme);
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: theme }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await waitForWorkbench(page, themeClass, UI_TIMEOUT_MS);
  for (const frame of page.frames()) {
    // Two animation frames: the theme's new CSS variables are painted in the views.
    if (frame.url().includes('/webview/')) await frame.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))).catch(() => {});
  }
}

/**
 * Screenshots of `page` in each of `names`, in that order, as test-results/PREFIX-NAME.png (and of
 * its side bar as PREFIX-view-NAME.png with `sidebar`). The window starts in VS Code's default,
 * dark, and stays in the last theme.
 */
export async function screenshotInThemes(page: Page, prefix: string, names: ThemeName[], opts: { sidebar?: boolean } = {}): Promise<void> {
  for (const name of names) {
    if (name !== 'dark') await setColorTheme(page, name);
    await page.screenshot({ path: join(RESULTS, `${prefix}-${name}.png`) });
    if (opts.sidebar) await page.locator('.part.sidebar').screenshot({ path: join(RESULTS, `${prefix}-view-${name}.png`) });
  }
}
