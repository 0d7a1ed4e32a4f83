// What Share Selection sends about the editor's selection: the lines it covers and the file's path
// relative to its workspace folder. Pure (no `vscode` import): positions and URI paths in, so a
// file of a remote workspace (Remote-SSH, WSL, a container: `vscode-remote:` URIs whose paths
// are the remote machine's) is named the same way as a local one, never by a local file path.

import { posix } from 'node:path';

/** A position as `vscode.Position` has it: 0-based line and character. */
export interface LinePosition {
  readonly line: number;
  readonly character: number;
}

/**
 * The 1-based lines a selection covers. A selection of whole lines ends at column 0 of the line
 * after them (that is what selecting lines with Shift+Down or a click in the gutter makes): that
 * line holds nothing of the selection, so it is not counted (82-84, not 82-85).
 */
export function sharedLines(start: LinePosition, end: LinePosition): { startLine: number; endLine: number } {
  const last = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  return { startLine: start.line + 1, endLine: last + 1 };
}

/**
 * Whether a selection is its lines whole (the snippet's `wholeLines`): it starts at column 0 and
 * ends at the end of its last line, or at column 0 of a later line (which sharedLines does not
 * count). `endLineLength`: the characters of the line `end` is on. A code thread compares whole
 * lines line for line; a selection that starts or ends inside a line is compared as a part of them.
 */
export function isWholeLines(start: LinePosition, end: LinePosition, endLineLength: number): boolean {
  if (start.character !== 0) return false;
  if (end.character === 0 && end.line > start.line) return true;
  return end.character >= endLineLength && (end.line > start.line || end.character > 0);
}

/**
 * The path a snippet names: relative to the workspace folder holding the file (both URI paths,
 * `/`-separated on every platform), or the file's name alone when no folder holds it.
 */
export function snippetPath(folderPath: string | undefined, filePath: string): string {
  if (folderPath !== undefined) {
    const rel = posix.relative(folderPath, filePath);
    if (rel && !rel.startsWith('..') && !posix.isAbsolute(rel)) return rel;
  }
  return posix.basename(filePath) || filePath;
}
