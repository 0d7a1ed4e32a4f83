// The react picker in the real view (Chromium) with look-alike emoji and the per-member cap (issue
// 12 attacker findings 4 and 6): a typed "👍" with U+FE0F is my 👍 (taken back, sent in its one
// form), and a 9th emoji of mine is refused in the picker with words, nothing posted.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_REACTIONS_PER_USER } from '../../protocol/message-actions.ts';
import { useHarness, WAIT_MS } from './harness.ts';
import { message } from './fixtures.ts';
import { T0, focusOn, focusRow, openGeneral } from './message-steps.ts';

const face = (i: number) => String.fromCodePoint(0x1f600 + i);

describe('webview: the react picker', () => {
  const harness = useHarness();

  test('a look-alike of my reaction takes it back, sent in its one form; a 9th of mine is refused in the picker', async (t) => {
    const view = await harness().open(t);
    const mine = Array.from({ length: MAX_REACTIONS_PER_USER - 1 }, (_, i) => ({ emoji: face(i), users: ['alice'], mine: true }));
    await openGeneral(view, [message('m1', 'bob', 'ship it?', T0, { reactions: [{ emoji: '👍', users: ['bob', 'alice'], mine: true }, ...mine] })]);
    const picker = view.page.getByRole('dialog', { name: 'Add a reaction' });
    const pick = async (typed: string) => {
      await focusRow(view, 'm1');
      await view.page.keyboard.press('+');
      await focusOn(view, '.picker-emoji');
      await picker.locator('.picker-input').fill(typed);
      await picker.locator('.picker-input').press('Enter');
    };

    await pick('👍\ufe0f');
    await view.waitForPosted('message/react', { id: 'm1', emoji: '👍', on: false });
    await picker.waitFor({ state: 'detached', timeout: WAIT_MS });

    // 8 of mine on it already (👍 and 7 faces): a new one is refused here, with words.
    await pick('🦀');
    await picker.getByRole('alert').waitFor({ timeout: WAIT_MS });
    assert.match(await picker.getByRole('alert').innerText(), new RegExp(`You have ${MAX_REACTIONS_PER_USER} reactions on this message`));
    assert.equal((await view.postedOf('message/react')).length, 1, 'nothing posted for the 9th');
    view.assertClean();
  });
});
