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

/** What Share Selection shares: the code from `start` to `end`, the 1-based lines it covers, and whether it is those lines whole. */
export interface SharedRange {
  readonly start: LinePosition;
  readonly end: LinePosition;
  readonly startLine: number;
  readonly endLine: number;
  /** The snippet's `wholeLines` (protocol/peer.ts): from column 0 of its first line to the end of its last. */
  readonly wholeLines: boolean;
}

/**
 * The code Share Selection shares for a selection from `start` to `end` (start ≤ end, as
 * `vscode.Selection` has them); `lineText(line)`: the text of a 0-based line of the document.
 * Undefined for an empty selection (the command is offered only with one: package.json `when`).
 * A selection that starts in its first line's indentation starts at column 0, and one that
 * ends in its last line's trailing whitespace (or at column 0 of a later line: sharedLines) ends
 * at that line's end: its lines are then shared whole, so that a code thread compares them line
 * for line (an edit anywhere in them is a change) and the compare view shows them as they were.
 * A selection that starts or ends inside a line's text shares just that (`wholeLines` false).
 */
export function shareRange(start: LinePosition, end: LinePosition, lineText: (line: number) => string): SharedRange | undefined {
  if (start.line === end.line && start.character === end.character) return undefined;
  const { startLine, endLine } = sharedLines(start, end);
  const first = lineText(start.line);
  const last = lineText(endLine - 1);
  // Whole lines end at column 0 of the next line: that line break is not part of the code shared.
  const endAt = endLine - 1 < end.line ? last.length : end.character;
  const from = first.slice(0, start.character).trim() === '' ? 0 : start.character;
  const to = last.slice(endAt).trim() === '' ? last.length : endAt;
  return { start: { line: start.line, character: from }, end: { line: endLine - 1, character: to }, startLine, endLine, wholeLines: from === 0 && to === last.length };
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
