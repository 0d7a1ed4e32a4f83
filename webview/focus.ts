// Where the keyboard focus goes in the view, so it is usable without a mouse:
// - The view gains focus ("Focus on Chat View", clicking its title, Ctrl+0-style navigation) with
//   nothing focused inside: focus returns to where the user last was, else the composer, else the
//   first field of the page (VS Code focuses the webview's frame, not an element in it). The same
//   when the focused element leaves the page (a conversation left, a button replaced).
// - A conversation opened or joined from the view, or the host's `focus/requested` (Focus Message
//   Box, palette Join/Create/Direct Message/Share, Next Unread): its composer takes the focus as
//   soon as it is on the page (it mounts with the conversation).

import { signal } from '@preact/signals';

/** Set when the composer should take the focus; the composer clears it when it has. */
export const composerWanted = signal(false);

/** The composer of the conversation open now, or the one about to open, takes the focus. */
export function focusComposer(): void {
  composerWanted.value = false;
  composerWanted.value = true;
  // No conversation open: the first conversation in the list (or the login form) instead.
  if (typeof document === 'undefined') return; // the state tests run without a page
  queueMicrotask(() => {
    if (composerWanted.value && !document.querySelector('.composer textarea')) focusFirst();
  });
}

/** The element focused last inside the page (kept while focus is outside the view). */
let last: HTMLElement | undefined;

function focusFirst(): void {
  const first = document.querySelector<HTMLElement>('.conversation, .login input, button:not([disabled])');
  first?.focus({ preventScroll: true });
}

/**
 * The page has the focus but no element in it does: the focus goes where the user last was, else
 * to the composer, else to the first field. Nothing happens while the page does not have the
 * focus (VS Code's focus is elsewhere) or an element already has it.
 */
export function settleFocus(doc: Document = document): void {
  if (!doc.hasFocus()) return;
  const active = doc.activeElement;
  if (active && active !== doc.body && active !== doc.documentElement) return;
  if (last?.isConnected && !last.closest('[hidden]')) last.focus({ preventScroll: true });
  else {
    const composer = doc.querySelector<HTMLElement>('.composer textarea');
    if (composer) composer.focus({ preventScroll: true });
    else focusFirst();
  }
}

/** Installs the listeners; returns their removal. */
export function trackFocus(win: Window = window): () => void {
  const doc = win.document;
  const onFocusIn = (e: FocusEvent) => {
    if (e.target instanceof HTMLElement) last = e.target;
  };
  // Let a click place the focus where it was clicked first (the next task).
  const settle = () => setTimeout(() => settleFocus(doc), 0);
  // The focused element left the page (a Join button replaced by "Joining…", a conversation left,
  // a form closed): the focus fell to the body, where keys do nothing. Checked per batch of DOM
  // changes, in constant time.
  const removed = new MutationObserver(() => {
    if (last && !last.isConnected && doc.activeElement === doc.body) settleFocus(doc);
  });
  doc.addEventListener('focusin', onFocusIn);
  win.addEventListener('focus', settle);
  removed.observe(doc.body, { childList: true, subtree: true });
  return () => {
    doc.removeEventListener('focusin', onFocusIn);
    win.removeEventListener('focus', settle);
    removed.disconnect();
  };
}
