// Code threads in every window of mine (issue 12): the window running the engine (the holder)
// passes what its code threads are told to the windows attached to it (extension/window-link.ts),
// over the same socket, and each window shows the threads of the files in ITS workspace folders.
// The frames are protocol/window-threads.ts's: a window asks for them once (`threads/subscribe`),
// then the holder sends the newest messages of every conversation and every change after; here they
// are built from what the threads are told and applied to an attached window's threads. No VS Code
// here, so both sides are tested without it.

import type { ConversationId } from '../protocol/peer.ts';
import type { TimelineMessage } from '../protocol/view.ts';
import type { ThreadFrame, ThreadMessage } from '../protocol/window-threads.ts';
import type { ThreadSink } from './message-updates.ts';

/** What a thread needs of a message, and only that. */
function forLink(m: TimelineMessage): ThreadMessage {
  return {
    id: m.id,
    from: m.from,
    text: m.text,
    sentAt: m.sentAt,
    mine: m.mine,
    mentionsMe: m.mentionsMe,
    ...(m.snippet ? { snippet: m.snippet } : {}),
    ...(m.replyTo ? { replyTo: { id: m.replyTo.id } } : {}),
    ...(m.reactions ? { reactions: m.reactions } : {}),
    ...(m.edited ? { edited: true } : {}),
    ...(m.deleted ? { deleted: true } : {}),
  };
}

/** A message a thread may hold: a snippet message, a reply (to one, maybe), or a delete (of one, maybe). */
const concerns = (m: TimelineMessage) => m.snippet !== undefined || m.replyTo !== undefined || m.deleted === true;

/** The holder's side: what its code threads are told, as frames to `send` (one window, or every subscribed one). */
export class ThreadRelay implements ThreadSink {
  constructor(private readonly send: (frame: ThreadFrame) => void) {}

  message(key: ConversationId, title: string, m: TimelineMessage): void {
    if (concerns(m)) this.send({ type: 'threads/message', key, title, message: forLink(m) });
  }

  updated(key: ConversationId, m: TimelineMessage): void {
    if (concerns(m)) this.send({ type: 'threads/updated', key, message: forLink(m) });
  }

  forget(key: ConversationId): void {
    this.send({ type: 'threads/forget', key });
  }

  clear(): void {
    this.send({ type: 'threads/clear' });
  }
}

/** The attached window's side: a checked frame (protocol/window-threads.ts threadFrameSchema) told to `sink`. */
export function applyThreadFrame(frame: ThreadFrame, sink: ThreadSink): void {
  const message = (m: ThreadMessage): TimelineMessage => ({ kind: 'message', ...m });
  switch (frame.type) {
    case 'threads/message':
      return sink.message(frame.key, frame.title, message(frame.message));
    case 'threads/updated':
      return sink.updated(frame.key, message(frame.message));
    case 'threads/forget':
      return sink.forget(frame.key);
    case 'threads/clear':
      return sink.clear();
  }
}
