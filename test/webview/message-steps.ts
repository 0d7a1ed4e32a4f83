// Shared steps of the message-action tests (message-actions.test.ts, message-edits.test.ts): a
// conversation opened, a message row focused, waiting for the focus or for the timeline to settle.

import assert from 'node:assert/strict';
import type { TimelineItem, TimelineMessage } from '../../protocol/view.ts';
import { WAIT_MS, type View } from './harness.ts';
import { message, withGeneral } from './fixtures.ts';

export const MIN = 60_000;
export const T0 = Date.now() - 90 * MIN;

export async function openGeneral(view: View, timeline: TimelineItem[], more = false): Promise<void> {
  const snapshot = withGeneral(timeline);
  snapshot.open!.more = more;
  await view.send({ type: 'host/snapshot', snapshot });
  await view.page.locator('.composer-input').waitFor({ timeout: WAIT_MS });
}

export const row = (view: View, id: string) => view.page.locator(`.row.message[data-id="${id}"]`);

/** Keyboard focus on message `id` (as the arrow keys leave it). */
export async function focusRow(view: View, id: string): Promise<void> {
  await row(view, id).focus();
  await view.page.waitForFunction((id) => (document.activeElement as HTMLElement | null)?.dataset.id === id, id, { timeout: WAIT_MS });
}

/** Waits until the focused element matches `selector`. */
export async function focusOn(view: View, selector: string): Promise<void> {
  await view.page.waitForFunction((sel) => document.activeElement?.matches(sel) ?? false, selector, { timeout: WAIT_MS });
}

export const focusedId = (view: View) => view.page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.row.message')?.dataset.id);

/** Whether message `id` is marked as revealed and inside the timeline's visible box. */
export async function revealedInView(view: View, id: string): Promise<void> {
  await view.page.locator(`.row.message.revealed[data-id="${id}"]`).waitFor({ timeout: WAIT_MS });
  const inside = await view.page.evaluate((id) => {
    const box = document.querySelector('.timeline')!.getBoundingClientRect();
    const r = document.querySelector(`.row.message[data-id="${id}"]`)!.getBoundingClientRect();
    return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  }, id);
  assert.ok(inside, `${id} is scrolled into the timeline's view`);
}

/** Waits until the timeline's scroll position and height are the same for 3 frames in a row (rows measured, corrections done). */
export async function settled(view: View): Promise<void> {
  await view.page.waitForFunction(
    () =>
      new Promise<boolean>((resolve) => {
        const el = document.querySelector('.timeline')!;
        const seen: string[] = [];
        const step = () => {
          seen.push(`${el.scrollTop}:${el.scrollHeight}`);
          if (seen.length < 4) requestAnimationFrame(step);
          else resolve(seen.every((s) => s === seen[0]));
        };
        requestAnimationFrame(step);
      }),
    null,
    { timeout: WAIT_MS },
  );
}

export function many(from: number, to: number, prefix = 'm'): TimelineMessage[] {
  const out: TimelineMessage[] = [];
  for (let i = from; i < to; i++) out.push(message(`${prefix}${i}`, i % 2 ? 'bob' : 'carol', `${prefix} number ${i}`, T0 + i * 20_000));
  return out;
}
