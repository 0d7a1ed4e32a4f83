// extension/snippet-path.ts: a snippet's path, written by another member, opens only a file inside
// one of the receiver's workspace folders, local (file:) or remote (vscode-remote:).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { checkSnippetPath, leavesFolder, resolveSnippetPath, type FolderUri } from '../../extension/snippet-path.ts';

/** vscode.Uri.joinPath's rule: the path joined and normalized, scheme and authority kept. */
const joinPath = (base: FolderUri, ...segments: string[]): FolderUri => ({ ...base, path: posix.join(base.path, ...segments) });
const local: FolderUri = { scheme: 'file', authority: '', path: '/home/bob/project' };
const remote: FolderUri = { scheme: 'vscode-remote', authority: 'ssh-remote+build-box', path: '/srv/work' };

const REFUSED = [
  '../../../../../etc/hostname',
  'src/../../secret',
  '..',
  '/etc/passwd',
  '~/.ssh/id_rsa',
  'C:/Windows/win.ini',
  'C:\\Windows\\win.ini',
  'c:secret',
  '\\\\server\\share\\x',
  'src\\..\\..\\x',
  'file:///etc/passwd',
  'src/a.ts\0.png',
  '%2e%2e/%2e%2e/etc/passwd',
  '%2E%2E%2Fsecret',
  '.. /x',
  '.../x',
  'a/\u202Esj.exe',
  'a/\x1b]0;x\x07',
  '',
  '.',
  './/',
  'a'.repeat(1025),
];

test('paths that could leave the folder or hide what they are are refused, each with a reason', () => {
  for (const path of REFUSED) {
    const checked = checkSnippetPath(path);
    assert.equal(checked.ok, false, JSON.stringify(path));
    assert.ok(!checked.ok && checked.reason.length > 10, `a reason for ${JSON.stringify(path)}`);
    assert.equal(resolveSnippetPath([local, remote], path, joinPath).ok, false);
  }
  assert.match((checkSnippetPath('../../../../../etc/hostname') as { reason: string }).reason, /\.\./);
  assert.match((checkSnippetPath('/etc/passwd') as { reason: string }).reason, /absolute/);
});

test('relative paths resolve inside every folder, local and remote, scheme and authority kept', () => {
  const resolved = resolveSnippetPath([local, remote], './src//app/main.ts', joinPath);
  assert.ok(resolved.ok);
  assert.deepEqual(resolved.segments, ['src', 'app', 'main.ts']);
  assert.deepEqual(resolved.uris, [
    { scheme: 'file', authority: '', path: '/home/bob/project/src/app/main.ts' },
    { scheme: 'vscode-remote', authority: 'ssh-remote+build-box', path: '/srv/work/src/app/main.ts' },
  ]);
  for (const ok of ['README.md', 'a b/c d.txt', 'docs/ünïcode/日本.md', '.github/workflows/ci.yml', 'x..y/z...ts']) assert.ok(resolveSnippetPath([local], ok, joinPath).ok, ok);
  assert.equal(resolveSnippetPath([], 'README.md', joinPath).ok, false, 'no folder open');
});

test('a join that leaves the folder anyway (a lying joinPath) is refused', () => {
  const lying = (base: FolderUri) => ({ ...base, path: '/etc/hostname' });
  assert.equal(resolveSnippetPath([local], 'README.md', lying).ok, false);
  const otherHost = (base: FolderUri, ...s: string[]) => ({ ...joinPath(base, ...s), authority: 'elsewhere' });
  assert.equal(resolveSnippetPath([remote], 'README.md', otherHost).ok, false);
});

test('symbolic links: a local one that leads out is refused, one that stays inside is followed', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'p2p-snippet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const folder = join(root, 'project');
  const outside = join(root, 'outside');
  mkdirSync(join(folder, 'src'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(folder, 'src', 'main.ts'), 'x');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(outside, join(folder, 'escape'));
  symlinkSync(join(folder, 'src'), join(folder, 'alias'));
  const fileUri = (p: string): FolderUri => ({ scheme: 'file', authority: '', path: p });
  const fs = { realpath: (p: string) => realpath(p), fsPath: (u: FolderUri) => u.path, isSymlink: async () => assert.fail('not for file:') };
  const check = async (path: string) => {
    const resolved = resolveSnippetPath([fileUri(folder)], path, joinPath);
    assert.ok(resolved.ok, path);
    return leavesFolder(fileUri(folder), resolved.uris[0]!, resolved.segments, fs, joinPath);
  };
  assert.match((await check('escape/secret.txt')) ?? '', /symbolic link/);
  assert.equal(await check('alias/main.ts'), undefined);
  assert.equal(await check('src/main.ts'), undefined);
});

test('symbolic links on a remote folder: any link on the way is refused', async () => {
  const links = new Set(['/srv/work/link']);
  const fs = { realpath: () => assert.fail('not for remote'), fsPath: () => assert.fail('not for remote'), isSymlink: async (u: FolderUri) => links.has(u.path) };
  const through = resolveSnippetPath([remote], 'link/file.ts', joinPath);
  assert.ok(through.ok);
  assert.match((await leavesFolder(remote, through.uris[0]!, through.segments, fs, joinPath)) ?? '', /symbolic link/);
  const plain = resolveSnippetPath([remote], 'src/file.ts', joinPath);
  assert.ok(plain.ok);
  assert.equal(await leavesFolder(remote, plain.uris[0]!, plain.segments, fs, joinPath), undefined);
});
