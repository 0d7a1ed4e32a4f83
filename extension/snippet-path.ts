// Where a snippet's link may point. A snippet's `path` is whatever the sending member wrote: it is
// opened only as a file inside one of the receiver's workspace folders, never as an absolute path,
// never above a folder (`..`, or a symbolic link that leads out), and never with characters that
// would make the shown path differ from the opened one. Pure but for the symlink check, whose file
// system access is passed in; no `vscode` import, so it is unit-tested with plain URIs.

import { relative, isAbsolute, sep } from 'node:path';
import { hasHidden } from '../protocol/text.ts';
import { VIEW_LIMITS } from '../protocol/view.ts';

/** The parts of a `vscode.Uri` the resolver reads. */
export interface FolderUri {
  readonly scheme: string;
  readonly authority: string;
  readonly path: string;
}

/** Longest path accepted, in characters (as protocol/view.ts `snippet/open`). */
export const MAX_SNIPPET_PATH = VIEW_LIMITS.snippetPathChars;

export type Resolved<U> = { ok: true; segments: string[]; uris: U[] } | { ok: false; reason: string };

/**
 * Checks a peer-given relative path and splits it into segments. Refused, with the reason in
 * words: empty or too long; absolute (`/x`, `~/x`, `C:\x`, `\\server`); a drive letter or any `:`;
 * a backslash; NUL or any control or invisible character; percent-escapes (`%2e%2e`); a `..`
 * segment, or one of only dots and spaces (Windows reads `.. ` as `..`). `.` and empty segments
 * are dropped (`./a//b` is `a/b`).
 */
export function checkSnippetPath(raw: string): { ok: true; segments: string[] } | { ok: false; reason: string } {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  if (raw.length === 0) return refuse('the path is empty');
  if (raw.length > MAX_SNIPPET_PATH) return refuse(`the path is longer than ${MAX_SNIPPET_PATH} characters`);
  if (hasHidden(raw)) return refuse('the path holds control or invisible characters');
  if (raw.includes('\\')) return refuse('the path holds a backslash');
  if (raw.includes(':')) return refuse('the path holds a colon (a drive letter or a URI)');
  if (raw.startsWith('/') || raw.startsWith('~')) return refuse('the path is absolute, not relative to the workspace');
  if (/%[0-9a-f]{2}/i.test(raw)) return refuse('the path holds percent-escapes');
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => /^[. ]+$/.test(s))) return refuse('the path climbs out of the folder with ".."');
  if (segments.length === 0) return refuse('the path names no file');
  return { ok: true, segments };
}

/** Whether `uri` is `folder` itself or below it (same scheme and authority, path under the folder's). */
export function isInside(folder: FolderUri, uri: FolderUri): boolean {
  if (uri.scheme !== folder.scheme || uri.authority !== folder.authority) return false;
  const base = folder.path.endsWith('/') ? folder.path : `${folder.path}/`;
  return uri.path === folder.path || uri.path.startsWith(base);
}

/**
 * The file a snippet link may open in each workspace folder, in folder order: `join` is
 * `vscode.Uri.joinPath` (it keeps scheme and authority, so a remote workspace works the same).
 * Refused when the path fails `checkSnippetPath`, when no folder is open, or when a joined URI
 * is not inside its folder.
 */
export function resolveSnippetPath<U extends FolderUri>(folders: readonly U[], raw: string, join: (base: U, ...segments: string[]) => U): Resolved<U> {
  const checked = checkSnippetPath(raw);
  if (!checked.ok) return checked;
  if (folders.length === 0) return { ok: false, reason: 'no workspace folder is open' };
  const uris = folders.map((f) => join(f, ...checked.segments));
  if (uris.some((u, i) => !isInside(folders[i]!, u) || u.path === folders[i]!.path)) return { ok: false, reason: 'the path leaves the workspace folder' };
  return { ok: true, segments: checked.segments, uris };
}

/** File system access for `leavesFolder`. */
export interface FolderFs<U extends FolderUri> {
  /** Local folders (`file:`): the real path of a local file path (fs.promises.realpath). */
  realpath(fsPath: string): Promise<string>;
  /** The local path of a `file:` URI (`uri.fsPath`). */
  fsPath(uri: U): string;
  /** Other schemes: whether this URI is a symbolic link (`workspace.fs.stat(uri).type & FileType.SymbolicLink`). */
  isSymlink(uri: U): Promise<boolean>;
}

/**
 * Why opening `uri` (found inside `folder`, `segments` below it) would leave the folder through a
 * symbolic link, or undefined when it stays inside. A local folder compares real paths (a link
 * that stays inside the folder is fine); elsewhere the real target cannot be known, so any link
 * on the way is refused. A file system error propagates (the caller treats the file as absent).
 */
export async function leavesFolder<U extends FolderUri>(folder: U, uri: U, segments: readonly string[], fs: FolderFs<U>, join: (base: U, ...segments: string[]) => U): Promise<string | undefined> {
  if (folder.scheme === 'file') {
    const [root, target] = await Promise.all([fs.realpath(fs.fsPath(folder)), fs.realpath(fs.fsPath(uri))]);
    const rel = relative(root, target);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return 'a symbolic link on the path leads out of the workspace folder';
    return undefined;
  }
  for (let i = 1; i <= segments.length; i++) {
    if (await fs.isSymlink(join(folder, ...segments.slice(0, i)))) return 'the path goes through a symbolic link, which may lead out of the workspace folder';
  }
  return undefined;
}
