// The prompts a person answers (input boxes, the trust-tracker modal, notices, the QuickPick)
// answered by the tests instead: functions of vscode.window replaced for a while.

import * as vscode from 'vscode';

/** Replaces functions of vscode.window (the one object every extension's `vscode` shares); returns the undo. */
export function stubWindow(stubs: Partial<Record<keyof typeof vscode.window, unknown>>): () => void {
  const target = vscode.window as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(Object.keys(stubs).map((k) => [k, target[k]]));
  Object.assign(target, stubs);
  return () => Object.assign(target, saved);
}
