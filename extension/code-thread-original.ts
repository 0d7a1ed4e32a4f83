// The compare view of a code thread whose code changed: the snippet as shared, beside the file
// now. The left side is a read-only `p2p-chat-snippet:` document (code-thread-commands.ts serves
// it): the file's current text with the anchored lines replaced by the shared code, so the diff
// shows exactly what changed in those lines, with the file's language and line endings.

import * as vscode from 'vscode';
import { SNIPPET_SCHEME } from './code-thread-commands.ts';
import type { SnippetFile } from './code-thread-files.ts';
import { openDocument } from './code-thread-files.ts';
import { noticeText } from './labels.ts';
import { asShared, codeLines, splitLines, type Anchor } from './snippet-anchor.ts';

/** The URI of a thread's snippet document: the file's path (for its language), `token` naming the thread. */
export function snippetUri(file: SnippetFile, token: string): vscode.Uri {
  return vscode.Uri.from({ scheme: SNIPPET_SCHEME, path: `/${file.segments.join('/')}`, query: token });
}

/** The snippet document's text: the open file with the shared code at `anchor`, or the code alone when the file is not open. */
export function snippetText(file: SnippetFile, anchor: Anchor, code: string): string {
  const doc = openDocument(file.uri);
  if (!doc) return codeLines(code).join('\n');
  const eol = doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
  return asShared(splitLines(doc.getText()), anchor, code).join(eol);
}

/** Opens the compare view (vscode.diff) of a thread: as shared in `conversation` on the left, the file now on the right. */
export async function compareWithShared(file: SnippetFile, token: string, conversation: string): Promise<void> {
  // Opened first, so that the snippet document is made from the text the editor shows.
  await vscode.workspace.openTextDocument(file.uri);
  const name = file.segments[file.segments.length - 1] ?? '';
  await vscode.commands.executeCommand('vscode.diff', snippetUri(file, token), file.uri, `${noticeText(name)}: as shared in ${conversation} ↔ now`);
}
