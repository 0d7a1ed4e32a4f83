// Whether the user can have seen a message: the ONE gate of read marks, read receipts and
// notifications (extension/chat-model.ts). Each VS Code window showing the chat (this one, and the
// windows attached to it: extension/window-link.ts) tells whether its chat view is on screen, its
// window has the focus, and which conversation its view shows scrolled to the newest end (the
// bottom of its newest page: webview/components/timeline.tsx reports `view/atNewest`).

import type { ConversationId } from '../protocol/peer.ts';

/** One window's chat view as the user may see it. */
export interface Attention {
  /** The chat view is on screen (the WebviewView's visibility). */
  visible: boolean;
  /** Its VS Code window has the focus (vscode.window.state.focused). */
  focused: boolean;
  /** The conversation whose newest messages the view shows (scrolled to its bottom, newest page loaded); undefined when none. */
  atNewest?: ConversationId;
}

/** Whether the user may be looking at the chat view of `a` (no notification then). */
export function looking(a: Attention): boolean {
  return a.visible && a.focused;
}

/** Whether the newest messages of `key` are before the eyes of a user looking at `a`: then they are read. */
export function seesNewest(a: Attention, key: ConversationId): boolean {
  return looking(a) && a.atNewest === key;
}
