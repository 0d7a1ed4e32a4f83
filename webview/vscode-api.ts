// The webview's only handle on VS Code: `acquireVsCodeApi()` may be called once per page (main.tsx
// does it), and its getState/setState keep a small JSON value while the view is hidden and shown
// again (the webview-view sample's pattern). Only state.ts posts through it.

import type { ViewToHost } from '../protocol/view.ts';

/** What survives the view being hidden and shown again. Never a password. */
export interface PersistedState {
  v: 1;
  openKey?: string;
  drafts: Record<string, string>;
  login: { tracker?: string; user?: string };
  collapsed: Record<string, boolean>;
  membersOpen: boolean;
}

export interface VsCodeApi {
  postMessage(message: ViewToHost): void;
  getState(): unknown;
  setState(state: PersistedState): void;
}

declare global {
  /** Injected by VS Code into every webview (a test page injects a fake). */
  function acquireVsCodeApi(): VsCodeApi;
}

export function emptyState(): PersistedState {
  return { v: 1, drafts: {}, login: {}, collapsed: {}, membersOpen: false };
}

/** Reads what getState() returned, trusting nothing about its shape (an older build may have saved it). */
export function readPersisted(raw: unknown): PersistedState {
  const state = emptyState();
  if (!raw || typeof raw !== 'object' || (raw as { v?: unknown }).v !== 1) return state;
  const r = raw as Partial<PersistedState>;
  if (typeof r.openKey === 'string') state.openKey = r.openKey;
  if (r.drafts && typeof r.drafts === 'object') {
    for (const [k, v] of Object.entries(r.drafts)) if (typeof v === 'string' && v) state.drafts[k] = v;
  }
  if (r.login && typeof r.login === 'object') {
    if (typeof r.login.tracker === 'string') state.login.tracker = r.login.tracker;
    if (typeof r.login.user === 'string') state.login.user = r.login.user;
  }
  if (r.collapsed && typeof r.collapsed === 'object') {
    for (const [k, v] of Object.entries(r.collapsed)) if (typeof v === 'boolean') state.collapsed[k] = v;
  }
  state.membersOpen = r.membersOpen === true;
  return state;
}
