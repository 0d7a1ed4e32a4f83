// How a code thread's messages look as VS Code comments. Every word here is another member's: the
// body is Markdown made of escaped text only (VS Code's MarkdownString.appendText), untrusted (no
// command links, no HTML, no theme icons), and every control or invisible character is shown, so a
// message cannot draw links, images or markup into the editor, nor reorder what is shown.

import * as vscode from 'vscode';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import { visible, visibleLines } from '../protocol/text.ts';
import type { TimelineMessage } from '../protocol/view.ts';
import type { Anchor } from './snippet-anchor.ts';

/** Characters of a comment's text shown in the editor (the chat shows the rest). */
export const COMMENT_CHARS = 8_000;

/** "#general" for a room, "bob" for a direct conversation: the conversation as its thread names it. */
export function conversationLabel(key: ConversationId, title: string): string {
  return isDmRoom(key) ? visible(title) : `#${visible(title)}`;
}

/**
 * The thread's label: the conversation, and what became of the code: moved ("now at lines 15-17")
 * or changed since it was shared (the compare button then shows).
 */
export function threadLabel(conversation: string, snippet: { startLine: number; endLine: number }, anchor: Anchor): string {
  const shared = `lines ${snippet.startLine}-${snippet.endLine}`;
  if (anchor.state === 'changed') return `${conversation}: the code changed since it was shared (${shared}); compare with the snippet`;
  if (anchor.state === 'moved') return `${conversation}: shared as ${shared}, now at ${anchor.startLine}-${anchor.endLine}`;
  return conversation;
}

/** The thread's `contextValue`: package.json shows the compare button when it matches /changed/. */
export function threadContext(anchor: Anchor): string {
  return anchor.state === 'changed' ? 'p2pChatCodeThread changed' : 'p2pChatCodeThread';
}

/**
 * One message as a comment: its author, its text (or "message deleted"), "edited", its reactions,
 * its time. `label` goes next to the author (the snippet message names its conversation there).
 */
export function messageComment(m: TimelineMessage, label?: string): vscode.Comment {
  const body = new vscode.MarkdownString(undefined, false);
  body.isTrusted = false;
  body.supportHtml = false;
  if (m.deleted) {
    body.appendText('message deleted');
  } else {
    const text = m.text.trim() === '' && m.snippet ? `${m.snippet.path}:${m.snippet.startLine}` : m.text;
    body.appendText(cut(visibleLines(text)));
    const reactions = (m.reactions ?? []).filter((r) => r.users.length > 0);
    if (reactions.length > 0) body.appendText(`\n\n${reactions.map((r) => `${visible(r.emoji)} ${r.users.length}`).join('   ')}`);
  }
  const labels = [label, m.edited && !m.deleted ? 'edited' : undefined].filter((l): l is string => l !== undefined);
  const comment: vscode.Comment = { body, mode: vscode.CommentMode.Preview, author: { name: visible(m.from) } };
  if (labels.length > 0) comment.label = labels.join(' · ');
  if (Number.isFinite(m.sentAt) && m.sentAt > 0) comment.timestamp = new Date(m.sentAt);
  return comment;
}

function cut(text: string): string {
  const chars = [...text];
  return chars.length > COMMENT_CHARS ? `${chars.slice(0, COMMENT_CHARS).join('')}… (the rest is in the chat)` : text;
}
