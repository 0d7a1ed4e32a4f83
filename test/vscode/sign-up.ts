// A person's first minute in a fresh window: the view opened, registered from the palette, a room
// joined from the palette, as the tests with a bot in the room start.

import type { Page } from 'playwright-core';
import { waitForWorkbench } from '../helpers/code-server.ts';
import { composerFocused } from './conversation-steps.ts';
import { joinRoomFromPalette, openView, registerFromPalette, type Bot } from './workbench.ts';

export interface SignUp {
  /** HOST:PORT of the tracker, as a person types it. */
  tracker: string;
  user: string;
  password: string;
  /** A room `member` is in (botInRoom, ready already). */
  room: string;
  member: Bot;
}

/**
 * Registers `user` from the palette in `page` and joins `room` from its quick pick; resolves when
 * `member` has seen the join and the room's composer has the keyboard focus (where joining leaves
 * it: the next keys go elsewhere only after it has).
 */
export async function signUpAndJoin(page: Page, { tracker, user, password, room, member }: SignUp): Promise<void> {
  await waitForWorkbench(page);
  await openView(page);
  await registerFromPalette(page, tracker, user, password);
  await joinRoomFromPalette(page, room);
  await member.event('member_joined', (e) => e.room === room && e.user === user);
  await composerFocused(page, room);
}
