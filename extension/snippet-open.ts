// Opens a snippet's file at its lines, in this window's workspace folders only (snippet links in
// the timeline; code threads use the same rules).

import * as vscode from 'vscode';
import { realpath } from 'node:fs/promises';
import { noticeText } from './labels.ts';
import { leavesFolder, resolveSnippetPath } from './snippet-path.ts';

/**
 * Opens a snippet's file with lines `line` to `endLine` (1-based; past the end means the last
 * line) selected and centred, but only inside an open workspace folder (extension/snippet-path.ts),
 * local or remote (URIs throughout); anything else is refused with a notice that says why and
 * shows the path as the sender wrote it, made visible. In Restricted Mode this only opens a text
 * editor, which VS Code allows there: nothing of the workspace runs.
 */
export async function openSnippet(path: string, line: number, endLine: number): Promise<void> {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri);
  const join = (base: vscode.Uri, ...segments: string[]) => vscode.Uri.joinPath(base, ...segments);
  const refuse = (why: string) => void vscode.window.showWarningMessage(`P2P Chat did not open the snippet's file "${noticeText(path)}": ${noticeText(why)}.`);
  const resolved = resolveSnippetPath(folders, path, join);
  if (!resolved.ok) return refuse(resolved.reason);
  const fs = {
    realpath: (p: string) => realpath(p),
    fsPath: (u: vscode.Uri) => u.fsPath,
    isSymlink: async (u: vscode.Uri) => ((await vscode.workspace.fs.stat(u)).type & vscode.FileType.SymbolicLink) !== 0,
  };
  for (const [i, uri] of resolved.uris.entries()) {
    let escape: string | undefined;
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if ((stat.type & vscode.FileType.File) === 0) continue;
      escape = await leavesFolder(folders[i]!, uri, resolved.segments, fs, join);
    } catch {
      continue;
    }
    if (escape) return refuse(escape);
    const doc = await vscode.workspace.openTextDocument(uri);
    const lastLine = Math.max(0, doc.lineCount - 1);
    const first = Math.min(Math.max(0, line - 1), lastLine);
    const last = Math.min(Math.max(first, endLine - 1), lastLine);
    const range = new vscode.Range(first, 0, last, doc.lineAt(last).range.end.character);
    const editor = await vscode.window.showTextDocument(doc, { selection: range });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenter);
    return;
  }
  refuse('no workspace folder has that file');
}

/** A timeline's path link, as protocol/view.ts `snippet/open` checked it. */
export interface SnippetLink {
  path: string;
  line: number;
  endLine?: number;
  /** The message that carries the snippet. */
  message?: { key: string; id: string };
}

/**
 * Opens a path link in this window: where the code thread of its message found the code now
 * (this window's threads, `anchors`), else, for a message without a thread here, the lines as
 * shared. The path is opened under the same rules either way (openSnippet).
 */
export function openSnippetLink(link: SnippetLink, anchors?: { anchorOf?(key: string, id: string): { startLine: number; endLine: number } | undefined }): Promise<void> {
  const at = link.message ? anchors?.anchorOf?.(link.message.key, link.message.id) : undefined;
  return openSnippet(link.path, at?.startLine ?? link.line, at?.endLine ?? link.endLine ?? link.line);
}
