// Who the workbench tests' people are and what their workspace holds: one password a user (each
// passes peer/account.ts checkPasswordPolicy), the room the bots create, and the files opened.

export const PASSWORDS = {
  alice: 'amber quilt ferry 41 meadow',
  bob: 'copper heron sleet 27 violin',
  carol: 'walnut prism tundra 83 cobalt',
  bot: 'velvet anchor drizzle 58 quartz',
} as const;

/** The room the bot creates and the person joins. */
export const ROOM = 'lobby';

/** A file to share lines of: lines 3-5 are the handler. */
export const APP_TS = ['import { serve } from "./server";', '', 'export function handler(req: Request): Response {', '  return new Response(`hello ${req.url}`);', '}', '', 'serve(handler);', ''].join('\n');

/** A window's workspace: a README. */
export const NOTES_FOLDER: Record<string, string> = { 'README.md': '# Team notes\n' };
/** A window's workspace with code to share: a README and src/app.ts. */
export const CODE_FOLDER: Record<string, string> = { ...NOTES_FOLDER, 'src/app.ts': APP_TS };
