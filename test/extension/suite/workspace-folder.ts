// The folder the driver (test/vscode/extension-host.test.ts) opens: the suite's files go there.

import assert from 'node:assert/strict';
import * as vscode from 'vscode';

export function workspaceFolder(): vscode.WorkspaceFolder {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the driver opens a workspace folder');
  return folder;
}
