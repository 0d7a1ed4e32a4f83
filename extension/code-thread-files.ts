// The workspace file a shared snippet is about, and its lines now. A snippet's path is the sender's
// word: it is looked up only inside the workspace folders (extension/snippet-path.ts, the same rules
// as the timeline's path link), never through a symbolic link that leads out, and only a regular
// file of bounded size is read.

import { realpath } from 'node:fs/promises';
import * as vscode from 'vscode';
import { splitLines } from './snippet-anchor.ts';
import { leavesFolder, resolveSnippetPath } from './snippet-path.ts';

/** Larger files get no thread: they are not read to find a snippet in them. */
export const MAX_THREAD_FILE_BYTES = 2 * 1024 * 1024;

export interface SnippetFile {
  uri: vscode.Uri;
  /** The path's segments below the folder holding it (checked: no `..`, no absolute path). */
  segments: string[];
}

const join = (base: vscode.Uri, ...segments: string[]) => vscode.Uri.joinPath(base, ...segments);

/**
 * The file `path` names in the first workspace folder that has it (a regular file of at most
 * MAX_THREAD_FILE_BYTES, reached without leaving the folder), or undefined: no folder open, a
 * path refused by checkSnippetPath, no such file, or one that cannot be read.
 */
export async function findSnippetFile(path: string): Promise<SnippetFile | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri);
  const resolved = resolveSnippetPath(folders, path, join);
  if (!resolved.ok) return undefined;
  const fs = {
    realpath: (p: string) => realpath(p),
    fsPath: (u: vscode.Uri) => u.fsPath,
    isSymlink: async (u: vscode.Uri) => ((await vscode.workspace.fs.stat(u)).type & vscode.FileType.SymbolicLink) !== 0,
  };
  for (const [i, uri] of resolved.uris.entries()) {
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if ((stat.type & vscode.FileType.File) === 0 || stat.size > MAX_THREAD_FILE_BYTES) continue;
      if ((await leavesFolder(folders[i]!, uri, resolved.segments, fs, join)) !== undefined) return undefined;
      return { uri, segments: resolved.segments };
    } catch {
      continue; // absent or unreadable in this folder: the next may have it
    }
  }
  return undefined;
}

/** The open document of `uri`, if an editor has it (its text may be ahead of the disk). */
export function openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
  const key = uri.toString();
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
}

/**
 * The lines of `uri` as the user sees them: the open document's text, else the file on disk
 * (UTF-8). Undefined when it cannot be read or is over MAX_THREAD_FILE_BYTES.
 */
export async function currentLines(uri: vscode.Uri): Promise<string[] | undefined> {
  const doc = openDocument(uri);
  if (doc) return splitLines(doc.getText());
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    if (bytes.byteLength > MAX_THREAD_FILE_BYTES) return undefined;
    return splitLines(new TextDecoder('utf-8').decode(bytes));
  } catch {
    return undefined;
  }
}
