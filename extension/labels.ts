// Text from peers and the tracker as VS Code shows it outside the webview. VS Code interprets some
// of what it is given: a notification turns `[label](command:...)` into a link that runs a command,
// QuickPick items, input box titles and the status bar turn `$(name)` into icons, and all of them
// let bidi controls reorder what is shown. These helpers make such text inert and visible. Pure
// (no `vscode` import), so they are unit-tested directly.

import { visible } from '../protocol/text.ts';

/** The longest message preview a notification shows, in characters (code points). */
export const PREVIEW_CHARS = 120;

/** `[x](y)` is a link in a notification or a prompt: a space after `]` keeps it text. */
function delink(text: string): string {
  return text.replace(/\]\(/g, '] (');
}

/** `$(name)` is an icon in a QuickPick or the status bar; `\$(` shows the characters as they are. */
function escapeIcons(text: string): string {
  return text.replace(/\$\(/g, '\\$(');
}

/** Untrusted text inside a notification (or a modal's message): one visible line, no links. */
export function noticeText(text: string): string {
  return delink(visible(text));
}

/**
 * Untrusted text inside a QuickPick label, description or detail, an input box title or prompt,
 * or a status bar text: one visible line, no links, no icons.
 */
export function pickText(text: string): string {
  return escapeIcons(delink(visible(text)));
}

/**
 * The notification for a new message: `title: text`, the text's lines joined by spaces and cut
 * to PREVIEW_CHARS characters (never inside a character), everything visible and inert.
 */
export function messageNotification(title: string, text: string): string {
  const chars = [...visible(text.replace(/\r?\n+/g, ' '))];
  const preview = chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS - 3).join('')}…` : chars.join('');
  return `${noticeText(title)}: ${delink(preview)}`;
}

/**
 * The notification for a new message without its text (the default, p2pChat.notificationPreview
 * off): VS Code cannot take back a notification it has shown, so a text its author edits or
 * deletes later would stay there. `title` is the sender, or `sender in #room`.
 */
export function messageNotice(kind: 'direct' | 'mention' | 'message', title: string): string {
  const who = noticeText(title);
  if (kind === 'direct') return `New direct message from ${who}`;
  if (kind === 'mention') return `Mentioned by ${who}`;
  return `New message from ${who}`;
}

/** "1 member", "3 members". */
export function memberCount(n: number): string {
  return `${n} ${n === 1 ? 'member' : 'members'}`;
}
