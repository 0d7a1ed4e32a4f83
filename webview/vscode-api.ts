// The webview's only handle on VS Code: `acquireVsCodeApi()` may be called once per page (main.tsx
// does it), and its getState/setState keep a small JSON value while the view is hidden and shown
// again (the webview-view sample's pattern). Only state.ts posts through it.

import type { ViewToHost } from '../protocol/view.ts';

/**
 * What survives the view being hidden and shown again. Never a password. Drafts and collapsed
 * sections are keyed by conversation keys and section ids, which come from room ids and user
 * names: they are pairs and lists, never the keys of a plain object (a room or user named
 * `__proto__` or `constructor` would be the object's prototype or a method, not a key).
 */
export interface PersistedState {
  v: 2;
  openKey?: string;
  /** [conversation key, draft] pairs. */
  drafts: [string, string][];
  login: { tracker?: string; user?: string };
  /** Ids of the collapsed sections. */
  collapsed: string[];
  membersOpen: boolean;
}

/** The same, in memory. */
export interface ViewState {
  openKey?: string;
  drafts: ReadonlyMap<string, string>;
  login: { tracker?: string; user?: string };
  collapsed: ReadonlySet<string>;
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

export function emptyState(): ViewState {
  return { drafts: new Map(), login: {}, collapsed: new Set(), membersOpen: false };
}

/** What setState keeps of `state`. */
export function toPersisted(state: ViewState): PersistedState {
  return {
    v: 2,
    ...(state.openKey !== undefined ? { openKey: state.openKey } : {}),
    drafts: [...state.drafts],
    login: { ...state.login },
    collapsed: [...state.collapsed],
    membersOpen: state.membersOpen,
  };
}

const own = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads what getState() returned, trusting nothing about its shape: version 2 (pairs and lists),
 * or version 1 of an older build (plain objects, read with own-property checks only, so a key
 * named `__proto__` is a key like any other). Anything else gives the empty state.
 */
export function readPersisted(raw: unknown): ViewState {
  const state = emptyState();
  if (!isObject(raw)) return state;
  // Own properties only: inherited ones are not what was saved.
  raw = Object.fromEntries(Object.keys(raw).map((k) => [k, (raw as Record<string, unknown>)[k]]));
  if (!isObject(raw) || (raw.v !== 1 && raw.v !== 2)) return state;
  const drafts = new Map<string, string>();
  const collapsed = new Set<string>();
  if (raw.v === 2) {
    if (Array.isArray(raw.drafts)) {
      for (const pair of raw.drafts) if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string' && pair[1]) drafts.set(pair[0], pair[1]);
    }
    if (Array.isArray(raw.collapsed)) for (const id of raw.collapsed) if (typeof id === 'string') collapsed.add(id);
  } else {
    if (isObject(raw.drafts)) {
      for (const k of Object.keys(raw.drafts)) if (own(raw.drafts, k) && typeof raw.drafts[k] === 'string' && raw.drafts[k]) drafts.set(k, raw.drafts[k] as string);
    }
    if (isObject(raw.collapsed)) for (const k of Object.keys(raw.collapsed)) if (own(raw.collapsed, k) && raw.collapsed[k] === true) collapsed.add(k);
  }
  state.drafts = drafts;
  state.collapsed = collapsed;
  if (own(raw, 'openKey') && typeof raw.openKey === 'string') state.openKey = raw.openKey;
  if (own(raw, 'login') && isObject(raw.login)) {
    if (own(raw.login, 'tracker') && typeof raw.login.tracker === 'string') state.login.tracker = raw.login.tracker;
    if (own(raw.login, 'user') && typeof raw.login.user === 'string') state.login.user = raw.login.user;
  }
  state.membersOpen = raw.membersOpen === true;
  return state;
}
